"""Captured content end to end: the official `openai` SDK calls the gateway, `seam calls show
--json` reads what was kept. Redaction happens before storage only: the client and the
upstream see what was sent."""

import base64
import hashlib
import json
import struct
import time
import uuid

import openai
import pytest
from openai import OpenAI

from conftest import ROOT

# Each built-in pack once, with a near miss beside it that must stay.
SECRETS = {
    "email": "ana.souza@example.com",
    "phone": "+1 415 555 0199",
    "card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ip": "192.168.10.20",
    "custom": "TICKET-123456",
    "key": "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
}
NEAR_MISSES = ["4111 1111 1111 1112", "GB82WEST12345698765433", "999.1.2.3", "TICKET-12345", "ana at example dot com"]
MARKERS = {"custom": "[custom]", "email": "[email]", "phone": "[phone]", "card": "[card]", "iban": "[iban]", "ip": "[ip]", "key": "[key]"}


@pytest.fixture(scope="module")
def capturing(stack):
    """A client of tenant e2e-capture, whose every call keeps its content."""
    key = stack.seam("keys", "create", "--tenant", "e2e-capture", "--json")["key"]
    return OpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=10)


def content(stack, call_id):
    shown = stack.call(call_id)
    return shown.get("content")


def texts(message):
    return "".join(p.get("text", "") for p in message.get("parts", []) if p.get("type") == "text")


def test_a_call_is_kept_redacted_with_its_tools_and_the_client_sees_it_as_sent(stack, capturing, default_scenario):
    sent = "Refund for " + ", ".join(SECRETS.values()) + ". Not secrets: " + ", ".join(NEAR_MISSES)
    raw = capturing.chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "system", "content": "You are brief."}, {"role": "user", "content": sent}],
        tools=[{"type": "function", "function": {"name": "lookup_invoice", "description": "Find an invoice",
                                                 "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
    )
    answer = raw.parse().choices[0].message.content
    assert answer == sent, "the client gets the answer unredacted"
    c = content(stack, raw.headers["x-seam-call-id"])
    assert c is not None, "tenant e2e-capture keeps content"
    assert [m["role"] for m in c["messages"]] == ["system", "user"]
    kept = texts(c["messages"][1])
    for kind, secret in SECRETS.items():
        assert secret not in kept, kind
        assert secret not in c["answer"]["text"], kind
    for kind, marker in MARKERS.items():
        assert marker in kept, (kind, kept)
    for near in NEAR_MISSES:
        assert near in kept, (near, kept)
    assert [t["name"] for t in c["tools"]] == ["lookup_invoice"]
    assert c["answer"]["finish_reason"] == "stop"
    # Each secret once asked and once answered.
    redactions = c["redactions"]
    for kind in ("email", "phone", "card", "iban", "ip"):
        assert redactions[kind] == 2, (kind, redactions)
    assert not c["truncated"]


def test_a_stream_is_kept_as_assembled(stack, capturing, default_scenario):
    stream = capturing.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "stream me a sentence please"}], stream=True)
    call_id = stream.headers["x-seam-call-id"]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream.parse() if chunk.choices)
    c = content(stack, call_id)
    assert c["answer"]["text"] == text
    assert not c["answer"].get("client_closed", False)


def png() -> str:
    """A 1x1 PNG as a data URL."""
    import zlib

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def test_an_image_part_is_kept_as_its_type_size_and_hash_never_its_bytes(stack, capturing, default_scenario):
    url = png()
    raw = capturing.chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is in this picture?"},
                                               {"type": "image_url", "image_url": {"url": url}}]}],
    )
    c = content(stack, raw.headers["x-seam-call-id"])
    parts = c["messages"][0]["parts"]
    assert parts[0] == {"type": "text", "text": "what is in this picture?"}
    blob = parts[1]
    assert blob["type"] == "blob" and blob["kind"] == "image_url"
    assert blob["media"] == "image/png"
    assert blob["bytes"] == len(url)
    assert blob["sha256"] == hashlib.sha256(url.encode()).hexdigest()
    assert url.split(",")[1] not in json.dumps(c), "the image's bytes are not kept"


def test_a_prompt_call_keeps_the_clients_turns_its_variables_and_the_release(stack, capturing, tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = (ROOT / "examples" / "prompts" / "support-bot.toml").read_text()
    (prompts / "capture-bot.toml").write_text(
        text.replace('name = "support-bot"', 'name = "capture-bot"').replace('["ana", "ben"]', '["cara"]'))
    cara = stack.seam("users", "create", "cara", "--json")["token"]
    release = stack.seam("release", "create", "capture-bot", "--dir", str(prompts), "--json", token=cara)["id"]
    stack.seam("release", "approve", release)
    stack.seam("deploy", "capture-bot@production", release)
    deadline = time.monotonic() + 5  # the gateway picks a deploy up within a second
    while True:
        try:
            raw = capturing.chat.completions.with_raw_response.create(
                model="prompt:capture-bot",
                messages=[{"role": "user", "content": "Where is invoice 7? Mail me at ana@example.com"}],
                extra_body={"seam_variables": {"customer": "Acme"}},
            )
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    c = content(stack, raw.headers["x-seam-call-id"])
    assert c["release"] == release
    assert [m["role"] for m in c["messages"]] == ["user"], "the release's system turn is not kept again"
    assert texts(c["messages"][0]) == "Where is invoice 7? Mail me at [email]"
    assert json.loads(c["variables"]) == {"customer": "Acme"}
    assert "Never promise refunds" not in json.dumps(c)


def sampled(trace_id: str, rate: float) -> bool:
    """The gateway's per-trace decision, computed independently: SHA-256 of a domain and the
    trace id, its top 53 bits as a fraction of 1."""
    digest = hashlib.sha256(b"seam-capture-sample\0" + trace_id.encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53) < rate


def test_a_trace_is_sampled_whole_and_failures_are_kept_outside_the_sample(stack, default_scenario):
    client = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    decisions = []
    for i in range(16):
        trace = f"capture-{uuid.uuid4().hex[:8]}-{i}"
        kept = []
        for _ in range(2):
            raw = client.chat.completions.with_raw_response.create(
                model="sampled", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-seam-trace": trace})
            kept.append(content(stack, raw.headers["x-seam-call-id"]) is not None)
        assert kept[0] == kept[1], trace
        assert kept[0] == sampled(trace, 0.5), trace
        decisions.append(kept[0])
    # A trace outside the sample whose call fails is kept anyway.
    trace = next(t for t in (f"failing-{i}" for i in range(100)) if not sampled(t, 0.5))
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 503\nfirst = 1\n')
    with pytest.raises(openai.APIStatusError) as failure:
        client.chat.completions.create(
            model="sampled", messages=[{"role": "user", "content": "fail"}], extra_headers={"x-seam-trace": trace})
    call_id = failure.value.response.headers["x-seam-call-id"]
    # `stack.call` waits (bounded) until the record writer has flushed the call.
    assert stack.call(call_id)["call"]["outcome"] == "error"
    c = content(stack, call_id)
    assert c is not None and texts(c["messages"][0]) == "fail" and c.get("answer") is None


def test_other_tenants_and_routes_keep_nothing(stack, default_scenario):
    client = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    raw = client.chat.completions.with_raw_response.create(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert content(stack, raw.headers["x-seam-call-id"]) is None


def test_the_export_of_contents_decodes_them(stack, capturing, default_scenario):
    raw = capturing.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "export me"}])
    call_id = raw.headers["x-seam-call-id"]
    stack.call(call_id)
    out = stack.seam("store", "export", "--since", "1h", "--only", "contents")
    lines = [json.loads(line) for line in out.splitlines()]
    mine = [line for line in lines if line["call_id"] == call_id]
    assert len(mine) == 1 and mine[0]["type"] == "content"
    assert texts(mine[0]["content"]["messages"][0]) == "export me"

