"""Canaries inside `seam serve`, on a gateway of this test's own: with `[canaries] key_env`, a
served-model change on a golden's route makes the gateway replay it by itself (trigger
`served_model_changed`), store the run and send `canary_failed` to the webhook, whose counts
are on /metrics."""

import json
import os
import subprocess
import time
import urllib.request

from openai import OpenAI

from conftest import SEAM, free_port, wait_healthy


def test_serve_replays_a_golden_after_its_route_serves_another_model(tmp_path):
    sim_port, gw_port, hook_port = free_port(), free_port(), free_port()
    config = tmp_path / "seam.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{gw_port}"
[store]
url = "sqlite://{tmp_path / 'seam.db'}"
flush_interval_ms = 10
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:{sim_port}/v1"
[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 1 }}
capture = {{ mode = "full" }}
[canaries]
key_env = "E2E_CANARY_KEY"
repeat = 2
[[notify.webhooks]]
url = "http://127.0.0.1:{hook_port}/hook"
secret_env = "E2E_HOOK_SECRET"
events = ["canary_failed"]
timeout_ms = 200
max_attempts = 1
""")
    env = {**os.environ, "SEAM_LOG": "warn", "E2E_HOOK_SECRET": "whsec-schedule"}
    env.pop("SEAM_TOKEN", None)
    seam = lambda *a: subprocess.run([SEAM, *a, "--config", str(config)], env=env, capture_output=True, text=True, timeout=60)
    made = seam("keys", "create", "--tenant", "canary", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    env["E2E_CANARY_KEY"] = key
    sim = subprocess.Popen([SEAM, "sim", "--listen", f"127.0.0.1:{sim_port}"], env=env, stderr=subprocess.DEVNULL)
    procs = [sim]
    try:
        wait_healthy(f"http://127.0.0.1:{sim_port}/healthz", sim)
        gw = subprocess.Popen([SEAM, "serve", "--config", str(config)], env=env, stderr=subprocess.DEVNULL)
        procs.append(gw)
        wait_healthy(f"http://127.0.0.1:{gw_port}/healthz", gw)
        client = OpenAI(base_url=f"http://127.0.0.1:{gw_port}/v1", api_key=key, max_retries=0, timeout=10)
        raw = client.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": "what is the status of order 7?"}])
        call_id = raw.headers["x-seam-call-id"]
        deadline = time.monotonic() + 10
        while (rec := seam("canary", "record", call_id, "--name", "status")).returncode != 0:
            assert time.monotonic() < deadline, rec.stderr
            time.sleep(0.1)
        # The provider moves the model under the route: live traffic meets it, the timeline
        # says so, and the gateway replays the golden on its own within a few polls.
        put = urllib.request.Request(f"http://127.0.0.1:{sim_port}/_sim/scenario", method="PUT",
                                     data=b'[model]\nserved = "sim-large-2026-02"\n'
                                          b'[content]\nmode = "fixed"\ntext = "I can\'t help with that."\n')
        urllib.request.urlopen(put, timeout=5).close()
        client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello"}])
        deadline = time.monotonic() + 30
        while True:
            history = seam("canary", "history", "status", "--json")
            assert history.returncode == 0, history.stderr
            runs = json.loads(history.stdout)["runs"]
            if runs:
                break
            assert time.monotonic() < deadline, "the gateway did not replay the golden"
            time.sleep(0.5)
        run = runs[0]
        assert run["trigger"] == "served_model_changed", run
        assert run["served_model"] == "sim-large-2026-02"
        # The new model refuses what the recording answered: the not-refusal assertion fails.
        assert run["verdict"] == "fail", json.dumps(run["detail"])[:2000]
        # Nobody listens on the webhook's port: the delivery failed, was counted, and nothing waited.
        deadline = time.monotonic() + 10
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{gw_port}/metrics", timeout=5) as r:
                text = r.read().decode()
            if 'seam_webhook_deliveries_total{result="failed"} 1' in text:
                break
            assert time.monotonic() < deadline, [l for l in text.splitlines() if "webhook" in l]
            time.sleep(0.5)
        assert "seam_webhook_attempts_total" in text
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=15)
