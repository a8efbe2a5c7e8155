"""The dashboard (docs/dashboard.md) in a real browser: Debian's chromium, headless, driven by
playwright-core from ui/dashboard.mjs (ui/package-lock.json; installed by scripts/test with
`npm ci`, with chromium from apt). It signs in with a user's token (a wrong one refused), opens
Home (and sees htmx fetch it again), the Timeline and the Calls search with filters, one call,
every other page of the nav, with no error or policy refusal reported by the browser, and signs
out; screenshots go to the test's temporary directory (or SEAM_UI_SHOTS_DIR). Without node, the npm package or chromium it skips, unless
SEAM_REQUIRE_BROWSER=1 (scripts/test sets it): then it fails.
"""

import datetime
import json
import math
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parent / "ui"
CHROMIUM = os.environ.get("SEAM_CHROMIUM", "/usr/bin/chromium")


def missing(what: str):
    if os.environ.get("SEAM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} (SEAM_REQUIRE_BROWSER=1; scripts/test installs it)")
    pytest.skip(what)


def browser_node() -> str:
    """node, once node, playwright-core and chromium are all there (else skip, or fail)."""
    node = shutil.which("node")
    if node is None:
        missing("node is not installed (apt-get install -y nodejs npm)")
    if not (UI / "node_modules" / "playwright-core").is_dir():
        missing("playwright-core is not installed (cd tests/e2e/ui && npm ci)")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return node


def test_dashboard_in_chromium(stack, default_scenario, tmp_path):
    node = browser_node()
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hello dashboard"}]})
    req = urllib.request.Request(
        f"{stack.base_url}/chat/completions",
        data=body.encode(),
        headers={"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        call_id = r.headers["x-seam-call-id"]
    # Listed only once written: wait for it by id.
    stack.call(call_id)
    # Six weeks of history from before Seam for the Forecasts page: busier on weekdays.
    history = tmp_path / "history.csv"
    rows = ["timestamp,tenant,route,tokens,cost"]
    for h in range(42 * 24):
        day, hour = divmod(h, 24)
        cost = (0.5 if day % 7 >= 5 else 1.0) * (2.0 if 8 <= hour < 20 else 1.0) * (1 + 0.1 * math.sin(h * 12.9898))
        t = datetime.datetime(2025, 10, 20, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=h)
        rows.append(f"{t:%Y-%m-%dT%H:%M:%SZ},e2e-forecast,chat,{int(cost * 1000)},{cost:.4f}")
    history.write_text("\n".join(rows) + "\n")
    stack.seam("usage", "import", str(history), "--allow-unknown")
    out = subprocess.run(
        [node, str(UI / "dashboard.mjs")],
        env={
            **os.environ,
            "SEAM_UI_URL": stack.base_url.removesuffix("/v1"),
            "SEAM_UI_TOKEN": stack.env["SEAM_TOKEN"],
            "SEAM_UI_CALL": call_id,
            "SEAM_UI_SHOTS": os.environ.get("SEAM_UI_SHOTS_DIR", str(tmp_path)),
            "SEAM_CHROMIUM": CHROMIUM,
            "SEAM_UI_FORECAST_AS_OF": "2025-12-01",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "dashboard: ok" in out.stdout, f"{out.stdout}\n{out.stderr}"
    for page in ["home", "timeline", "calls", "call", "reliability", "streams", "usage", "prompts", "evals",
                 "forecasts", "coverage", "value", "audit", "keys", "users"]:
        assert (Path(os.environ.get("SEAM_UI_SHOTS_DIR", tmp_path)) / f"{page}.png").stat().st_size > 1000, page
