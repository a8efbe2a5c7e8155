"""What a crash of the gateway (`kill -9`) loses, by `[records] durability`: with
"acknowledged" no call whose answer the client received; with the default "batched", the calls
of the last flush interval (stretched here to a minute so that the loss is certain)."""

import json
import os
import signal
import sqlite3
import subprocess

import httpx
import pytest

from openai import OpenAI

from conftest import SEAM, free_port, wait_healthy


def crash_and_restart(tmp_path, durability, calls=None):
    """Runs `calls(client, base_url, key)` (by default, 24 calls, every third streamed)
    against a gateway, kills it with SIGKILL as soon as they return, starts it again to write
    its spool, and returns the call ids the client was answered and those in the store."""
    sim_port, gw_port = free_port(), free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "seam.db"
    config = tmp_path / "seam.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{gw_port}"
[store]
url = "sqlite://{db}"
flush_interval_ms = 60000
[records]
durability = "{durability}"
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:{sim_port}/v1"
[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
""")
    env = {**os.environ, "SEAM_LOG": "warn"}
    env.pop("SEAM_TOKEN", None)
    serve = [SEAM, "serve", "--config", str(config)]
    sim = subprocess.Popen([SEAM, "sim", "--listen", f"127.0.0.1:{sim_port}"], env=env, stderr=subprocess.DEVNULL)
    procs = [sim]
    made = subprocess.run([SEAM, "keys", "create", "--tenant", "crash", "--json", "--config", str(config)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    try:
        wait_healthy(f"http://127.0.0.1:{sim_port}/healthz", sim)
        gw = subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL)
        procs.append(gw)
        wait_healthy(f"http://127.0.0.1:{gw_port}/healthz", gw)
        base_url = f"http://127.0.0.1:{gw_port}/v1"
        client = OpenAI(base_url=base_url, api_key=key, max_retries=0)
        acknowledged = (calls or mixed_calls)(client, base_url, key)
        gw.send_signal(signal.SIGKILL)
        gw.wait(timeout=10)
        # The next start writes what the spool holds, then stops cleanly.
        gw = subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL)
        procs.append(gw)
        wait_healthy(f"http://127.0.0.1:{gw_port}/healthz", gw)
        gw.terminate()
        assert gw.wait(timeout=20) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    with sqlite3.connect(db) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM calls")}
    return acknowledged, stored


def mixed_calls(client, _base_url, _key):
    acknowledged = []
    for i in range(24):
        messages = [{"role": "user", "content": f"call {i}"}]
        if i % 3 == 0:
            raw = client.chat.completions.with_raw_response.create(model="chat", messages=messages, stream=True)
            chunks = list(raw.parse())
            assert chunks, "the stream answered"
        else:
            raw = client.chat.completions.with_raw_response.create(model="chat", messages=messages)
            assert raw.parse().choices[0].message.content
        acknowledged.append(raw.headers["x-seam-call-id"])
    return acknowledged


def stream_until_its_end(path, body, end):
    """One stream read only until the event that tells the client it is over (`end` in a
    line); the gateway is killed right then, the rest of the body unread."""

    def call(_client, base_url, key):
        with httpx.Client(timeout=10) as http:
            with http.stream("POST", f"{base_url}/{path}", json=body,
                             headers={"authorization": f"Bearer {key}"}) as r:
                assert r.status_code == 200, r.read()
                for line in r.iter_lines():
                    if end in line:
                        return [r.headers["x-seam-call-id"]]
        raise AssertionError(f"the stream ended without {end!r}")

    return call


def test_acknowledged_durability_loses_no_answered_call_to_kill_9(tmp_path):
    acknowledged, stored = crash_and_restart(tmp_path, "acknowledged")
    missing = [c for c in acknowledged if c not in stored]
    assert not missing, f"{len(missing)} of {len(acknowledged)} answered calls lost"


def test_batched_durability_loses_the_last_flush_interval_to_kill_9(tmp_path):
    acknowledged, stored = crash_and_restart(tmp_path, "batched")
    # The documented bound: records still queued in memory die with the process.
    assert not any(c in stored for c in acknowledged)


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_acknowledged_durability_holds_a_streams_end_until_it_is_recorded(tmp_path, kind):
    """The client sees a stream's end (`[DONE]`; Anthropic's `message_stop`; a passed-through
    Responses stream's `response.completed`) only once the call's records are on disk: killed the moment the
    client reads it, the gateway still has the call after a restart. Three rounds each: the
    kill races the spool's fsync, which a stream's end sent early loses most of the time."""
    if kind == "chat":
        call = stream_until_its_end("chat/completions", {
            "model": "chat", "stream": True, "messages": [{"role": "user", "content": "a b c"}]}, "[DONE]")
    elif kind == "anthropic":
        call = stream_until_its_end("messages", {
            "model": "chat", "stream": True, "max_tokens": 64,
            "messages": [{"role": "user", "content": "a b c"}]}, "event: message_stop")
    else:
        call = stream_until_its_end("responses", {"model": "chat", "stream": True, "input": "a b c"},
                                    '"type":"response.completed"')
    for round in range(3):
        acknowledged, stored = crash_and_restart(tmp_path / f"{kind}-{round}", "acknowledged", call)
        assert acknowledged[0] in stored, f"round {round}: the client saw the end of a stream that was lost"
