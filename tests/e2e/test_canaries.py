"""Canaries end to end: the official `openai` SDK makes a tool conversation through the
gateway with content captured; `seam canary record` makes a golden of its trace; `seam canary
run` replays it through the gateway (canary traffic), turn by turn with the recorded tool
result fed back; the provider moving its model and a renamed tool fail it with the diff and
the changes since the recording; a sim failing one replay in three makes it flaky."""

import hashlib
import hmac
import http.server
import json
import subprocess
import threading
import time
import uuid

import pytest
from openai import OpenAI

from conftest import SEAM

TOOLS = [{"type": "function", "function": {"name": "lookup_invoice", "description": "Find an invoice",
                                          "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]
SCENARIO = '[model]\nserved = "sim-large-2026-01"\nfingerprint = "fp_e2e"\n'
TOOL_SCENARIO = SCENARIO + '[content]\nmode = "tool_call"\nanswer_tool_results = true\ntool = { name = "%s", arguments = { id = "inv_42" } }\n'
RESULT = '{"id": "inv_42", "status": "paid", "total": 42.5}'


@pytest.fixture(scope="module")
def capture_key(stack):
    return stack.seam("keys", "create", "--tenant", "e2e-canary", "--json")["key"]


@pytest.fixture(scope="module")
def recorded(stack, capture_key):
    """A two-turn tool conversation of tenant e2e-canary, captured, recorded as golden `invoice`."""
    # Tenant e2e-canary keeps content (conftest's config).
    stack.set_scenario(TOOL_SCENARIO % "lookup_invoice")
    trace = f"trace-canary-{uuid.uuid4().hex[:8]}"
    client = OpenAI(base_url=stack.base_url, api_key=capture_key, max_retries=0, timeout=10,
                    default_headers={"x-seam-trace": trace})
    ask = [{"role": "user", "content": "Where is invoice inv_42?"}]
    first = client.chat.completions.with_raw_response.create(model="chat", messages=ask, tools=TOOLS)
    call = first.parse().choices[0].message.tool_calls[0]
    assert call.function.name == "lookup_invoice"
    followup = ask + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": RESULT},
    ]
    second = client.chat.completions.with_raw_response.create(model="chat", messages=followup, tools=TOOLS)
    assert "paid" in second.parse().choices[0].message.content
    for raw in (first, second):
        stack.call(raw.headers["x-seam-call-id"])  # written
    golden = stack.seam("canary", "record", trace, "--name", "invoice", "--force", "--json")
    stack.set_scenario(SCENARIO)
    return golden


def canary_run(stack, *args, key):
    gateway = stack.base_url.removesuffix("/v1")
    return subprocess.run([SEAM, "canary", "run", *args, "--gateway", gateway, "--key", key, "--config", str(stack.config)],
                          env=stack.env, capture_output=True, text=True, timeout=60)


def test_a_recorded_tool_conversation_replays_and_passes(stack, capture_key, recorded):
    turns = recorded["turns"]
    assert [t["id"] for t in turns] == ["invoice#1", "invoice#2"]
    kinds = [[a["type"] for a in t["assert"]] for t in turns]
    assert "tool-call" in kinds[0] and "latency-ms" in kinds[0], kinds
    assert turns[0]["metadata"]["canary"]["model"] == "chat"
    stack.set_scenario(TOOL_SCENARIO % "lookup_invoice")
    out = canary_run(stack, "invoice", "--json", key=capture_key)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][0]
    assert run["verdict"] == "pass", json.dumps(run["detail"], indent=1)[:3000]
    assert run["served_model"] == "sim-large-2026-01"
    repeats = run["detail"]["repeats"]
    assert len(repeats) == 3
    # Turn 2 was sent the recorded tool result, for the tool call made now: its answer says so.
    for r in repeats:
        assert "paid" in r["turns"][1]["output"]["text"], r
    listed = {g["golden"]: g for g in stack.seam("canaries", "--json")["goldens"]}
    assert listed["invoice"]["last_verdict"] == "pass"
    assert listed["invoice"]["last_pass"]["served_model"] == "sim-large-2026-01"
    stack.set_scenario(SCENARIO)


@pytest.fixture
def hooks(stack):
    """A webhook receiver on the port conftest's [[notify.webhooks]] names: every request kept."""
    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", stack.hook_port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield got
    server.shutdown()
    server.server_close()


def test_a_renamed_tool_under_a_moved_model_fails_with_the_diff_and_the_changes(stack, capture_key, recorded, hooks):
    moved = TOOL_SCENARIO.replace("sim-large-2026-01", "sim-large-2026-02") % "find_invoice"
    stack.set_scenario(moved)
    # Live traffic meets the moved model first: the timeline has the change before the replay.
    OpenAI(base_url=stack.base_url, api_key=capture_key, max_retries=0, timeout=10).chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "hello"}])
    time.sleep(0.5)
    out = canary_run(stack, "invoice", "--strict", key=capture_key)
    assert out.returncode == 1, out.stdout + out.stderr
    text = out.stdout
    assert "canary invoice: FAIL" in text, text
    assert "replayed again after a failing round" in text, text
    assert "served-model change" in text, text
    assert "find_invoice" in text and "lookup_invoice" in text, text
    history = stack.seam("canary", "history", "invoice", "--json")["runs"]
    assert [r["verdict"] for r in history[:2]] == ["fail", "pass"]
    detail = history[0]["detail"]
    assert "lookup_invoice" in (detail["repeats"][0].get("stopped") or ""), detail["repeats"][0]
    changes = stack.seam("changes", "--json")
    kinds = json.dumps(changes)
    assert "canary_failed" in kinds
    # The webhook got it, signed with the secret over the exact body (the command waits for it).
    assert len(hooks) == 1, hooks
    headers, body = hooks[0]
    want = "sha256=" + hmac.new(b"whsec-e2e-secret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-seam-signature"], want)
    event = json.loads(body)
    assert event["kind"] == "canary_failed" and headers["x-seam-event"] == "canary_failed"
    assert event["details"]["golden"] == "invoice" and "whsec" not in body.decode()
    # Put back as recorded: it passes again, and the timeline says so.
    stack.set_scenario(TOOL_SCENARIO % "lookup_invoice")
    out = canary_run(stack, "invoice", key=capture_key)
    assert out.returncode == 0 and "canary invoice: PASS" in out.stdout, out.stdout + out.stderr
    assert "canary_recovered" in json.dumps(stack.seam("changes", "--json"))
    assert [json.loads(b)["kind"] for _, b in hooks] == ["canary_failed", "canary_recovered"]
    stack.set_scenario(SCENARIO)


def test_one_failing_replay_in_three_is_flaky_not_failed(stack, capture_key, recorded):
    client = OpenAI(base_url=stack.base_url, api_key=capture_key, max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(model="chat", messages=[{"role": "user", "content": "ping the billing desk"}])
    call_id = raw.headers["x-seam-call-id"]
    stack.call(call_id)
    stack.seam("canary", "record", call_id, "--name", "ping", "--force")
    stack.set_scenario(SCENARIO + '[[errors]]\nkind = "status"\nstatus = 500\npattern = "..x"\n')
    out = canary_run(stack, "ping", "--json", key=capture_key)
    stack.set_scenario(SCENARIO)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][0]
    assert run["verdict"] == "flaky", run
    assert [r["outcome"] for r in run["detail"]["repeats"]] == ["pass", "pass", "error"]


def test_a_call_without_captured_content_is_refused(stack):
    client = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    call_id = raw.headers["x-seam-call-id"]
    stack.call(call_id)
    out = subprocess.run([SEAM, "canary", "record", call_id, "--name", "nocontent", "--config", str(stack.config)],
                         env=stack.env, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "capture was off for route `chat`" in out.stderr, out.stderr
    assert not (stack.tmp / "canaries" / "nocontent.jsonl").exists()


def test_a_golden_written_by_hand_for_a_route_that_is_gone_is_reported_not_crashed(stack, capture_key):
    """A golden is a dataset file: one written by hand, naming a route the config no longer has."""
    golden = {"id": "gone#1", "input": {"messages": [{"role": "user", "content": "hello"}]},
              "assert": [{"type": "icontains", "value": "hello"}],
              "metadata": {"canary": {"model": "retired-route"}}}
    (stack.tmp / "canaries").mkdir(exist_ok=True)
    (stack.tmp / "canaries" / "gone.jsonl").write_text(json.dumps(golden) + "\n")
    out = canary_run(stack, "gone", "--json", key=capture_key)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][0]
    assert run["verdict"] == "error", run
    turn = run["detail"]["repeats"][0]["turns"][0]
    assert "retired-route" in turn["reason"], turn
    # A golden without metadata.canary.model is refused, naming the file, line and key.
    bad = dict(golden, metadata={})
    (stack.tmp / "canaries" / "nomodel.jsonl").write_text(json.dumps(bad) + "\n")
    out = canary_run(stack, "nomodel", key=capture_key)
    assert out.returncode != 0 and "nomodel.jsonl:1: metadata.canary.model is missing" in out.stderr, out.stderr
    for name in ("gone", "nomodel"):
        (stack.tmp / "canaries" / f"{name}.jsonl").unlink()


def test_replaying_a_route_golden_needs_an_operator(stack, capture_key, recorded):
    token = stack.seam("users", "create", "canary-nobody", "--json")["token"]
    gateway = stack.base_url.removesuffix("/v1")
    out = subprocess.run([SEAM, "canary", "run", "invoice", "--gateway", gateway, "--key", capture_key,
                          "--config", str(stack.config)],
                         env={**stack.env, "SEAM_TOKEN": token}, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "replaying canary `invoice`" in out.stderr and "canary-nobody" in out.stderr, out.stderr
