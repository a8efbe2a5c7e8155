"""`seam demo --exit`, the README's first command, played to the end as a new user sees it:
every story prints what it claims, and the eval gate blocks the release a threshold would ship."""

import json
import os
import re
import subprocess

import pytest

from conftest import SEAM


@pytest.fixture(scope="module")
def demo():
    """One play of the demo for the module's tests. Port 0: a free one."""
    out = subprocess.run([SEAM, "demo", "--exit", "--port", "0"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_the_demo_plays_every_story_and_the_gate_decides(demo):
    text = demo.stdout
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


def test_the_demo_leaves_a_user_to_sign_in_with(demo):
    out = demo
    m = re.search(r"http://127\.0\.0\.1:\d+/ui/ while the demo serves, signed in as `demo` \(an admin\) with the token (seam-user-\w+)", out.stdout)
    assert m, out.stdout[-2000:]
    token = m.group(1)
    config = re.search(r"seam calls show call_\w+ --config (\S+)", out.stdout).group(1)
    env = {k: v for k, v in os.environ.items() if k not in ("SEAM_TOKEN", "SEAM_STORE")}
    # The store has a user now: its CLI commands need the token, and take the one printed.
    refused = subprocess.run([SEAM, "calls", "--config", config], capture_output=True, text=True, timeout=30, env=env)
    assert refused.returncode != 0 and "SEAM_TOKEN" in refused.stderr
    ok = subprocess.run([SEAM, "calls", "--json", "--config", config], capture_output=True, text=True, timeout=30,
                        env={**env, "SEAM_TOKEN": token})
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) > 0
