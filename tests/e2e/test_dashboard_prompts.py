"""The dashboard's Prompts pages and forms (docs/dashboard.md, "Prompts and their forms") in a
real browser: Debian's chromium, headless, driven by playwright-core from ui/prompts.mjs. A
prompt with a release on production and a newer one awaiting approval: an owner approves the
newer one with the form, someone who owns nothing sees no approve button and has a deploy to
production refused, the author deploys it; the gateway then serves it to a `prompt:` call, and
the audit chain names who did what. Skips as test_dashboard.py does without node,
playwright-core or chromium (fails with SEAM_REQUIRE_BROWSER=1).
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import ROOT
from test_dashboard import CHROMIUM, UI, browser_node

PROMPT = "dash-bot"


def prompt_call(stack) -> tuple[int, str]:
    body = json.dumps({
        "model": f"prompt:{PROMPT}",
        "messages": [{"role": "user", "content": "hi"}],
        "seam_variables": {"customer": "Acme"},
    })
    req = urllib.request.Request(
        f"{stack.base_url}/chat/completions",
        data=body.encode(),
        headers={"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("x-seam-release", "")
    except urllib.error.HTTPError as e:
        return e.code, ""


def served(stack, want: str) -> str:
    """The release a prompt call gets, once it is `want` (bounded: a deploy from the CLI is
    picked up within a second)."""
    deadline = time.monotonic() + 5
    got = ""
    while time.monotonic() < deadline:
        status, got = prompt_call(stack)
        if status == 200 and got == want:
            break
        time.sleep(0.1)
    return got


def test_prompt_forms_in_chromium(stack, default_scenario, tmp_path):
    node = browser_node()
    # Names of this test's own: the stack is shared with the other files.
    users = {u: stack.seam("users", "create", u, "--json")["token"] for u in ["dash-ana", "dash-ben", "dash-eve"]}
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    path = prompts / f"{PROMPT}.toml"
    text = (ROOT / "examples" / "prompts" / "support-bot.toml").read_text()
    text = text.replace('name = "support-bot"', f'name = "{PROMPT}"')
    path.write_text(text.replace('["ana", "ben"]', '["dash-ana", "dash-ben"]'))
    old = stack.seam("release", "create", PROMPT, "--dir", str(prompts), "--json", token=users["dash-ana"])["id"]
    # Nothing is on production yet: an admin approves the first release.
    stack.seam("release", "approve", old, "--yes")
    stack.seam("deploy", f"{PROMPT}@production", old)
    assert served(stack, old) == old
    marked = "Never promise refunds. <script>alert(1)</script>"
    path.write_text(path.read_text().replace("Never promise refunds.", marked))
    new = stack.seam("release", "create", PROMPT, "--dir", str(prompts), "--json", token=users["dash-ben"])["id"]

    out = subprocess.run(
        [node, str(UI / "prompts.mjs")],
        env={
            **os.environ,
            "SEAM_UI_URL": stack.base_url.removesuffix("/v1"),
            "SEAM_UI_PROMPT": PROMPT,
            "SEAM_UI_OLD": old,
            "SEAM_UI_NEW": new,
            "SEAM_UI_AUTHOR": users["dash-ben"],
            "SEAM_UI_APPROVER": users["dash-ana"],
            "SEAM_UI_APPROVER_NAME": "dash-ana",
            "SEAM_UI_STRANGER": users["dash-eve"],
            "SEAM_UI_SHOTS": str(tmp_path),
            "SEAM_CHROMIUM": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0 and "prompts: ok" in out.stdout, f"{out.stdout}\n{out.stderr}"
    for shot in ["prompt", "prompt-refused", "prompt-diff"]:
        assert (tmp_path / f"{shot}.png").stat().st_size > 1000, shot

    # The deploy from the dashboard is what the gateway serves, and the chain says who.
    assert served(stack, new) == new
    records = stack.seam("audit", "log", "--json")
    actions = [(r["actor"], r["action"], r["subject"]) for r in records]
    assert ("dash-ana", "release.approve", new) in actions
    assert ("dash-ben", "release.deploy", f"{PROMPT}@production") in actions
    assert not [a for a in actions if a[0] == "dash-eve" and a[1].startswith("release.")]
    listing = stack.seam("releases", PROMPT, "--json")
    by_id = {r["id"]: r for r in listing["releases"]}
    assert by_id[new]["approved_by"] == ["dash-ana"] and by_id[new]["channels"] == ["production"]
