"""The dashboard's coverage page (docs/failures.md, docs/dashboard.md) in a real browser, as
test_dashboard.py drives it (Debian's chromium through playwright-core, ui/coverage.mjs):
after sessions of tenant e2e-capture (whose content is kept) in which users ask the same
question twice, the page shows the flagged calls per signal and their cluster, uncovered (the
stack has no eval dataset), with the user's markup as text; its Export button downloads the
cluster's candidate cases as JSONL, each tagged needs-review. Skips without node, the npm
package or chromium, unless SEAM_REQUIRE_BROWSER=1: then it fails."""

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path

from test_dashboard import CHROMIUM, UI, browser_node

# Words no other test sends, so the cluster is this test's.
QUESTION = "how do I export my zebra <b>ledger</b> as a quokka spreadsheet"


def ask(stack, key, text, session):
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": text}]})
    req = urllib.request.Request(
        f"{stack.base_url}/chat/completions",
        data=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "x-seam-session": session},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        return r.headers["x-seam-call-id"]


def test_coverage_page_and_export_in_chromium(stack, default_scenario, tmp_path):
    node = browser_node()
    key = stack.seam("keys", "create", "--tenant", "e2e-capture", "--json")["key"]
    last = None
    # Six users each ask twice: the first call of each is flagged `rephrase` (five make a cluster).
    for _ in range(6):
        session = f"cov-{uuid.uuid4()}"
        ask(stack, key, QUESTION, session)
        last = ask(stack, key, f"that did not help, {QUESTION}", session)
    stack.call(last)
    out = subprocess.run(
        [node, str(UI / "coverage.mjs")],
        env={
            **os.environ,
            "SEAM_UI_URL": stack.base_url.removesuffix("/v1"),
            "SEAM_UI_TOKEN": stack.env["SEAM_TOKEN"],
            "SEAM_UI_SHOTS": os.environ.get("SEAM_UI_SHOTS_DIR", str(tmp_path)),
            "SEAM_CHROMIUM": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "coverage: ok" in out.stdout, f"{out.stdout}\n{out.stderr}"
    assert (Path(os.environ.get("SEAM_UI_SHOTS_DIR", tmp_path)) / "coverage.png").stat().st_size > 1000
