"""`seam demo --exit`, the README's first command, played to the end as a new user sees it:
every story prints what it claims, and the eval gate blocks the release a threshold would ship."""

import re
import subprocess

from conftest import SEAM


def test_the_demo_plays_every_story_and_the_gate_decides():
    # Port 0: a free one (a busy default port is also handled, but needs no test here).
    out = subprocess.run([SEAM, "demo", "--exit", "--port", "0"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for story in ("Degradation:", "Agent loop:", "Frozen prompt:", "Hot reload:", "Evals:"):
        assert story in text, f"{story} missing from the demo's output"
    evals = text.split("Evals:", 1)[1]
    # The threshold gate would ship the max_tokens cut ...
    m = re.search(r"a threshold gate \(pass rate >= 80%\) would ship it: ([\d.]+)%", evals)
    assert m and float(m.group(1)) == 87.8, evals
    # ... the paired gate fails it, naming the nine cases that flipped ...
    first, second = evals.split("temperature 0.3", 1)
    assert "fail" in first
    flipped = sorted(set(re.findall(r"billing-\d{3}", first)))
    assert flipped == [f"billing-{i:03d}" for i in range(400) if i % 44 == 6], first
    # ... and its deploy is refused, while the release with no real change passes and ships.
    assert re.search(r"seam deploy support-bot@production rel_\w+: refused: .*gate", first), first
    assert "pass" in second
    assert re.search(r"seam deploy support-bot@production rel_\w+: deployed", second), second
