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
    for story in ("Degradation:", "Agent loop:", "Frozen prompt:", "Hot reload:", "Evals:", "Contamination:", "Value:", "Canary:"):
        assert story in text, f"{story} missing from the demo's output"
    evals = text.split("Evals:", 1)[1]
    # The threshold gate would ship the max_tokens cut ...
    m = re.search(r"a threshold gate \(pass rate >= 80%\) would ship it: ([\d.]+)%", evals)
    assert m and float(m.group(1)) == 87.8, evals
    # ... the paired gate fails it, naming the nine cases that flipped ...
    evals = evals.split("Contamination:", 1)[0]
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


def test_the_demo_refuses_pasted_eval_cases_and_marks_the_override(demo):
    story = demo.stdout.split("Contamination:", 1)[1].split("Value:", 1)[0]
    refused, rest = story.split("--allow-contamination", 1)
    # The guard names the six pasted cases, their file and line, and where in the release.
    named = re.findall(r"case `(refund-\d{2})` \(\S+/evals/refunds\.jsonl:(\d+)\), .* in messages\[(\d+)\]", refused)
    assert [c for c, _, _ in named] == [f"refund-{i:02d}" for i in range(6)], refused
    assert [int(line) for _, line, _ in named] == list(range(1, 7)), refused
    # With the override, the run is marked: the full score beside the clean subset's.
    m = re.search(r"CONTAMINATED: release rel_\w+ contains 6 case\(s\).*pass rate ([\d.]+)% on all cases, ([\d.]+)% on the clean subset \(17 results\)", rest)
    assert m and (m.group(1), m.group(2)) == ("78.3", "70.6"), rest
    # The gate refuses it as evidence, then, accepted, decides on the clean subset too.
    assert "refused: a contaminated run is no evidence for a gate" in rest
    assert "CONTAMINATED, accepted: on the clean subset (17 cases)" in rest


def test_the_demo_ends_with_the_value_report_for_its_quarter(demo):
    value = demo.stdout.split("Value:", 1)[1]
    m = re.search(r"seam report value --quarter (\d{4})Q([1-4])", value)
    assert m, value[:500]
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[1:-1]] for r in value.splitlines() if r.startswith("| support-bot") or r.startswith("| TOTAL")}
    assert set(rows) == {"support-bot", "TOTAL"}, value[:2000]
    header = [c.strip() for c in next(r for r in value.splitlines() if r.startswith("| prompt")).split("|")[1:-1]]
    total = dict(zip(header, rows["TOTAL"]))
    # Three gate decisions (billing: fail then pass; refunds: accepted contaminated), one
    # regression blocked, priced at the prompt's $6 a failure, and eval spend from the records.
    assert (total["decisions"], total["regressions_blocked"]) == ("3", "1"), total
    failures = float(total["failures_avoided_estimate"])
    # (Both are printed to 2 decimals: the failures' rounding, x 6, is up to 0.03.)
    assert failures > 0 and abs(float(total["cost_avoided_usd_estimate"]) - failures * 6) <= 0.03 + 1e-9, total
    assert float(total["eval_spend_usd_actual"]) > 0, total
    assert "Method: ESTIMATES." in value


def test_the_demo_canary_fails_after_the_changes_since_its_recording(demo):
    text = demo.stdout
    assert re.search(r"recorded golden `invoice-lookup` \(2 turn\(s\)\)", text), text[:3000]
    canary = text.split("Canary:", 1)[1].split("Read it all", 1)[0]
    assert "canary invoice-lookup: FAIL  (0/3 replays passed; replayed again after a failing round)" in canary, canary
    # What changed in the answers, and what the timeline says changed since the recording.
    assert "tool call removed: `lookup_invoice`" in canary and "tool call added: `find_invoice`" in canary, canary
    m = re.search(r"against (rel_\w+), model sim-large-2026-01; since then: (\d+) deploys?, (\d+) served-model change", canary)
    assert m and int(m.group(2)) >= 1 and int(m.group(3)) >= 1, canary
    assert "model sim-large-2026-02" in canary


def test_the_demo_forecast_does_not_take_the_christmas_trough_for_the_new_baseline(demo):
    story = demo.stdout.split("Forecast:", 1)[1].split("Coverage:", 1)[0]
    truth = float(re.search(r"what happened .*\$(\d+)", story).group(1))
    naive = re.search(r"naive run-rate .*\$(\d+) \(([-+]\d+)%\)", story)
    # The story: the run-rate on 2 January under-forecasts the month by about a third.
    assert -40 <= int(naive.group(2)) <= -28, story
    seam = re.search(r"Seam's forecast \(\w+\), ESTIMATE +\$(\d+) \(([-+]\d+)%\); 80% interval \$(\d+) to \$(\d+) \((\w+) it\)", story)
    assert seam, story
    assert abs(int(seam.group(2))) <= 10, story
    assert int(seam.group(3)) <= truth <= int(seam.group(4)) and seam.group(5) == "inside", story
    assert "overlap Christmas–New Year: the forecast does not treat them as the new baseline" in story, story


def test_the_demo_coverage_puts_the_uncovered_failure_mode_first_and_exports_cases(demo):
    story = demo.stdout.split("Coverage:", 1)[1].split("Read it all", 1)[0]
    clusters = re.findall(r"^    (UNCOVERED|covered  ) (\S+) +(\d+) calls", story, re.M)
    assert clusters, story
    # The story: invoices in a foreign currency, rephrased and abandoned, no case.
    kind, first, size = clusters[0]
    assert kind == "UNCOVERED" and "invoice" in first and "currency" in first, story
    assert all(k.strip() == "covered" for k, _, _ in clusters[1:]), story
    assert int(size) > sum(int(n) for _, _, n in clusters[1:]), story
    written = re.search(r"(\d+) candidate cases from \S+ written to (\S+) ", story)
    assert written and written.group(1) == "5", story
    lines = [json.loads(l) for l in open(written.group(2)).read().splitlines()]
    assert len(lines) == 5 and all("needs-review" in c["tags"] and c["expected"] is None for c in lines)
    assert all("currenc" in c["input"]["messages"][-1]["content"] for c in lines), lines
