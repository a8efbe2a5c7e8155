"""Sessions keep the release they started on; `seam sessions`, `migrate` and `reload` over a real `seam serve`."""

import json
import time
import urllib.request

from conftest import ROOT


def write_prompt(path, tool):
    text = (ROOT / "examples" / "prompts" / "support-bot.toml").read_text()
    text = text.replace('name = "support-bot"', 'name = "session-bot"').replace('["ana", "ben"]', '["sam", "kim"]')
    path.write_text(text.replace("lookup_invoice", tool))


def ship(stack, prompts, tool, sam, kim, first=False):
    """sam releases, kim (an owner) approves and sam deploys; the stack's admin stands in for
    the owners on a prompt's first release, when nothing is on production yet."""
    write_prompt(prompts / "session-bot.toml", tool)
    release = stack.seam("release", "create", "session-bot", "--dir", str(prompts), "--json", token=sam)["id"]
    stack.seam("release", "approve", release, token=None if first else kim)
    stack.seam("deploy", "session-bot@production", release, token=None if first else sam)
    return release


def call(client, session=None):
    raw = client.chat.completions.with_raw_response.create(
        model="prompt:session-bot",
        messages=[{"role": "user", "content": "Where is invoice 7?"}],
        extra_body={"seam_variables": {"customer": "Acme"}},
        extra_headers={"x-seam-session": session} if session else None,
    )
    raw.parse()
    return raw.headers["x-seam-release"]


def eventually(fn, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = fn()
        except Exception as e:  # noqa: BLE001 - a deploy not yet seen is a 404
            got = e
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_a_session_keeps_its_release_until_migrated(stack, default_scenario, tmp_path):
    from openai import OpenAI

    sam = stack.seam("users", "create", "sam", "--json")["token"]
    kim = stack.seam("users", "create", "kim", "--role", "operator", "--tenant", "e2e", "--json")["token"]
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    v1 = ship(stack, tmp_path, "lookup_invoice", sam, kim, first=True)
    # The gateway sees a deploy within a second; a session's first call pins what it sees.
    assert eventually(lambda: call(c), v1) == v1
    assert call(c, "py-1") == v1
    v2 = ship(stack, tmp_path, "find_invoice", sam, kim)
    assert eventually(lambda: call(c), v2) == v2
    assert call(c, "py-new") == v2
    assert call(c, "py-1") == v1, "the session started on v1 stays there"

    def served_from(release):
        return {x["release_id"] for x in stack.seam("calls", "--release", release, "--json")}

    # Calls record the release they were served from, and `seam calls` filters by it.
    assert eventually(lambda: served_from(v1), {v1}) == {v1}
    assert eventually(lambda: served_from(v2), {v2}) == {v2}

    listed = stack.seam("sessions", "--prompt", "session-bot", "--json")["sessions"]
    by_id = {s["session_id"]: s for s in listed}
    assert by_id["py-1"]["release_id"] == v1 and by_id["py-1"]["draining"] is True
    assert by_id["py-new"]["release_id"] == v2 and by_id["py-new"]["draining"] is False
    text = stack.seam("sessions", "--prompt", "session-bot")
    assert "draining" in text and "py-1" in text

    changes = stack.seam("changes", "--since", "1h", "--json")
    deploy = [e for e in changes if e["kind"] == "release_deploy" and "session-bot" in e["message"]][-1]
    assert deploy["drain"] == {"release": v1, "sessions": 1, "at_deploy": 1}

    stack.seam("sessions", "migrate", "py-1", "--to", v2, token=kim)
    assert eventually(lambda: call(c, "py-1"), v2) == v2
    actions = [(r["actor"], r["action"]) for r in stack.seam("audit", "log", "--json")]
    assert ("kim", "session.migrate") in actions

    def pinned_to_v2():
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.gw_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        return f'seam_sessions_pinned{{prompt="session-bot",release="{v2}"}} 2' in metrics

    # The gauge is refreshed from the store every second.
    assert eventually(pinned_to_v2, True), "py-1 and py-new are both on v2"


def test_seam_reload_asks_the_running_gateway(stack):
    out = stack.seam("reload", "--json")
    assert out["applied"] is True and out["file"].endswith("seam.toml")


def test_sighup_reloads_the_running_gateway(stack):
    import signal

    def reloads():
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.gw_port}/metrics", timeout=5) as r:
            lines = r.read().decode().splitlines()
        return sum(float(line.split()[-1]) for line in lines if line.startswith("seam_reloads_total{"))

    before = reloads()
    stack.procs[-1].send_signal(signal.SIGHUP)  # the gateway is the last process started
    assert eventually(lambda: reloads() > before, True), "SIGHUP made a reload"
    assert stack.procs[-1].poll() is None, "and the gateway is still serving"
