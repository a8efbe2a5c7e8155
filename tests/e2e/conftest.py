"""Starts a real `seam sim` and `seam serve` on loopback for the end-to-end suite.

Processes are started once per session, polled until healthy (bounded), and stopped with
SIGTERM so that graceful shutdown runs too.
"""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEAM = os.environ.get("SEAM_BIN", str(ROOT / "target" / "debug" / "seam"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy in {timeout}s")


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.sim_port = free_port()
        self.gw_port = free_port()
        # test_canaries.py listens here for the canary events' webhook.
        self.hook_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.base_url = f"http://127.0.0.1:{self.gw_port}/v1"
        self.config = tmp / "seam.toml"
        self.config.write_text(
            f"""
[server]
listen = "127.0.0.1:{self.gw_port}"

[store]
url = "sqlite://{tmp / 'seam.db'}"
flush_interval_ms = 10

[[providers]]
name = "sim"
kind = "sim"
base_url = "{self.sim_url}/v1"

[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{self.sim_url}"
api_key_env = "E2E_ANTHROPIC_KEY"

[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 1 }}

[[routes]]
name = "chat-retry"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 3, backoff_base_ms = 1, backoff_max_ms = 5 }}

# As chat-retry, for test_errors.py: test_retries.py counts every call of chat-retry.
[[routes]]
name = "retry-signals"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 3, backoff_base_ms = 1, backoff_max_ms = 5 }}

[[routes]]
name = "smooth"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
stream_slo = {{ chars_per_chunk_p50 = 8.0 }}
rechunk = {{ boundary = "word", min_chars = 12, max_hold_ms = 1000 }}

[[routes]]
name = "claude"
targets = [{{ provider = "claude", model = "claude-sim-1" }}]

[[routes]]
name = "embed"
targets = [{{ provider = "sim", model = "sim-embed-1" }}]

# Content capture (test_capture.py): every call of tenant e2e-capture, with every pack; on
# route `sampled`, half the traces of any tenant and every failure.
[capture.tenants.e2e-capture]
mode = "full"
redact = ["email", "phone", "card", "iban", "ip", "regex:TICKET-[0-9]{{6}}"]

# Canaries (test_canaries.py): every call of tenant e2e-canary is kept, to be recorded.
[capture.tenants.e2e-canary]
mode = "full"

[[routes]]
name = "sampled"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 1 }}
capture = {{ mode = "full", sample = 0.5, keep_failures = true }}

# Canary events to a receiver test_canaries.py starts (nothing listens otherwise: deliveries
# fail quietly, counted, and nothing waits on them).
[[notify.webhooks]]
url = "http://127.0.0.1:{self.hook_port}/hook"
secret_env = "E2E_WEBHOOK_SECRET"
events = ["canary_failed", "canary_recovered"]
timeout_ms = 1000
max_attempts = 2

[prices."sim-large-2026-01"]
input = 1.0
output = 4.0
"""
        )
        self.env = {**os.environ, "E2E_ANTHROPIC_KEY": "sk-ant-e2e-secret", "E2E_WEBHOOK_SECRET": "whsec-e2e-secret",
                    "SEAM_LOG": "warn"}
        self.procs = []

    def start(self) -> None:
        sim = subprocess.Popen([SEAM, "sim", "--listen", f"127.0.0.1:{self.sim_port}"], env=self.env)
        self.procs.append(sim)
        wait_healthy(f"{self.sim_url}/healthz", sim)
        # The first user is an admin (`admin` itself is reserved for the gateway's admin
        # token); control-plane commands act as them from here on.
        self.env["SEAM_TOKEN"] = self.seam("users", "create", "root", "--json")["token"]
        self.key = self.seam("keys", "create", "--tenant", "e2e", "--json")["key"]
        # The gateway on one worker (tokio's single-threaded scheduler, as benchmarked), the sim
        # on the multi-threaded one: both runtimes serve end to end.
        gw = subprocess.Popen(
            [SEAM, "serve", "--config", str(self.config)],
            env={**self.env, "TOKIO_WORKER_THREADS": "1"},
            stderr=open(self.tmp / "serve.log", "w"),
        )
        self.procs.append(gw)
        wait_healthy(f"http://127.0.0.1:{self.gw_port}/healthz", gw)

    def seam(self, *args: str, token=None):
        env = {**self.env, "SEAM_TOKEN": token} if token else self.env
        out = subprocess.run(
            [SEAM, *args, "--config", str(self.config)], env=env, capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if "--json" in args else out.stdout

    def call(self, call_id: str, timeout: float = 5.0):
        """`seam calls show ID --json`, polled (bounded) until the batch writer has flushed it."""
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(
                [SEAM, "calls", "show", call_id, "--json", "--config", str(self.config)],
                env=self.env, capture_output=True, text=True, timeout=30,
            )
            if out.returncode == 0:
                return json.loads(out.stdout)
            if time.monotonic() > deadline:
                raise AssertionError(out.stderr)
            time.sleep(0.05)

    def set_scenario(self, toml: str) -> None:
        req = urllib.request.Request(f"{self.sim_url}/_sim/scenario", data=toml.encode(), method="PUT")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                raise


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("seam"))
    try:
        s.start()
        yield s
    finally:
        s.stop()
    log = (s.tmp / "serve.log").read_text()
    assert "sk-ant-e2e-secret" not in log, "a provider key reached the log"


@pytest.fixture
def default_scenario(stack):
    stack.set_scenario('[model]\nserved = "sim-large-2026-01"\nfingerprint = "fp_e2e"\n')
    yield
    stack.set_scenario('[model]\nserved = "sim-large-2026-01"\nfingerprint = "fp_e2e"\n')
