"""Silent failures with `[failures] embedding_route` (docs/failures.md "Embeddings"), end to end:
a sim and a gateway of their own, the official `openai` SDK sending sessions whose user
rephrases with typos ("cancel my subscripton" then "cancell my subscription": no content word in
common, so the lexical measure misses them; the sim's embeddings, hashed words and character
trigrams, put them close). `seam failures` and `seam coverage` embed through route `embed`
(`--gateway` or an in-process gateway), name the method in their output, and catch the pair;
through a route whose upstream is down they fall back to the lexical method and say so."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from openai import OpenAI

from conftest import SEAM, free_port, wait_healthy

# Consecutive user turns of one session: the second rephrases the first with typos.
REPHRASED = [
    ("how do I cancel my subscripton", "how can i cancell my subscription"),
    ("cancel my subscribtion please", "pls cancell my subscripton"),
    ("how to cancell the subscription", "how do i cancel teh subscription"),
]
# Consecutive questions that are not a rephrase by any measure.
UNRELATED = ("what is the refund policy for damaged goods", "tell me about shipping times to canada")

CONFIG = """
[server]
listen = "127.0.0.1:{gw_port}"

[store]
url = "sqlite://{db}"
flush_interval_ms = 10

[[providers]]
name = "sim"
kind = "sim"
base_url = "{sim_url}/v1"

# Nothing listens here: a route whose upstream is down.
[[providers]]
name = "down"
kind = "sim"
base_url = "http://127.0.0.1:{dead_port}/v1"

[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 1 }}

[[routes]]
name = "embed"
targets = [{{ provider = "sim", model = "sim-embed-1" }}]

[[routes]]
name = "broken"
targets = [{{ provider = "down", model = "sim-embed-1" }}]
retry = {{ max_attempts = 1 }}

[capture.tenants.e2e-embed]
mode = "full"

[failures]
enabled = false
min_cluster_size = 2
{failures}
"""


class Gateway:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.ports = {"gw_port": free_port(), "dead_port": free_port()}
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.base = f"http://127.0.0.1:{self.ports['gw_port']}"
        self.env = {**os.environ, "SEAM_LOG": "warn"}
        (tmp / "evals").mkdir()
        # One case asks what the rephrased sessions ask, correctly spelled.
        case = {"id": "cancel", "input": {"messages": [{"role": "user", "content": "how do I cancel my subscription"}]}}
        (tmp / "evals" / "support.jsonl").write_text(json.dumps(case) + "\n")
        self.procs = []

    def config(self, name: str, failures: str) -> Path:
        """A config file on the shared store, with these `[failures]` keys."""
        path = self.tmp / f"{name}.toml"
        path.write_text(
            CONFIG.format(**self.ports, db=self.tmp / "seam.db", sim_url=self.sim_url, failures=failures)
        )
        return path

    def seam(self, *args: str, config: Path, ok=True):
        out = subprocess.run(
            [SEAM, *args, "--config", str(config)], env=self.env, capture_output=True, text=True, timeout=60
        )
        if ok:
            assert out.returncode == 0, out.stderr
        return out

    def start(self):
        self.embed_cfg = self.config("embed", 'embedding_route = "embed"\nembed_rephrase_threshold = 0.5\nembed_cluster_threshold = 0.4\nembed_cover_threshold = 0.6')
        self.lexical_cfg = self.config("lexical", "")
        self.broken_cfg = self.config("broken", 'embedding_route = "broken"')
        sim = subprocess.Popen([SEAM, "sim", "--listen", f"127.0.0.1:{self.sim_port}"], env=self.env)
        self.procs.append(sim)
        wait_healthy(f"{self.sim_url}/healthz", sim)
        self.env["SEAM_TOKEN"] = json.loads(self.seam("users", "create", "root", "--json", config=self.embed_cfg).stdout)["token"]
        self.key = json.loads(self.seam("keys", "create", "--tenant", "e2e-embed", "--json", config=self.embed_cfg).stdout)["key"]
        gw = subprocess.Popen(
            [SEAM, "serve", "--config", str(self.embed_cfg)], env=self.env, stderr=open(self.tmp / "serve.log", "w")
        )
        self.procs.append(gw)
        wait_healthy(f"{self.base}/healthz", gw)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(timeout=15)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    g = Gateway(tmp_path_factory.mktemp("embed"))
    try:
        g.start()
        client = OpenAI(base_url=f"{g.base}/v1", api_key=g.key, max_retries=0, timeout=10)
        for first, second in [*REPHRASED, UNRELATED]:
            session = f"s-{uuid.uuid4()}"
            for text in (first, second):
                raw = client.chat.completions.with_raw_response.create(
                    model="chat", messages=[{"role": "user", "content": text}], extra_headers={"x-seam-session": session}
                )
                raw.parse()
                last = raw.headers["x-seam-call-id"]
        # Recorded before any scan reads it (the batch writer flushes every 10 ms).
        deadline = time.monotonic() + 5
        while g.seam("calls", "show", last, "--json", config=g.embed_cfg, ok=False).returncode != 0:
            assert time.monotonic() < deadline, "the last call was not recorded"
            time.sleep(0.05)
        yield g
    finally:
        g.stop()
    log = (g.tmp / "serve.log").read_text()
    for first, second in [*REPHRASED, UNRELATED]:
        assert first not in log and second not in log, "a user's text reached the log"


def rephrases(report) -> int:
    return sum(r["now"]["flagged"] for r in report["rows"] if r["signal"] == "rephrase")


def test_lexical_misses_the_typo_rephrases_and_says_it_is_lexical(gateway):
    report = json.loads(gateway.seam("failures", "--since", "1h", "--json", config=gateway.lexical_cfg).stdout)
    assert report["similarity"] == "lexical"
    assert rephrases(report) == 0, report["rows"]


def test_embeddings_through_the_route_catch_them_and_are_named(gateway):
    args = ("failures", "--since", "1h", "--gateway", gateway.base, "--key", gateway.key)
    report = json.loads(gateway.seam(*args, "--json", config=gateway.embed_cfg).stdout)
    assert report["similarity"].startswith("embeddings via route `embed` ("), report["similarity"]
    # The three rephrased sessions' first turns, not the unrelated pair's.
    assert rephrases(report) == 3, report["rows"]
    text = gateway.seam(*args, config=gateway.embed_cfg).stdout
    assert "similarity (rephrase): embeddings via route `embed`" in text, text


def test_coverage_clusters_by_embeddings_in_process_and_matches_the_case(gateway):
    # No --gateway: a gateway started in the command, with the key.
    out = gateway.seam("coverage", "--since", "1h", "--key", gateway.key, "--json", config=gateway.embed_cfg)
    report = json.loads(out.stdout)
    assert report["similarity"].startswith("embeddings via route `embed`"), report["similarity"]
    assert report["scanned"]["similarity"].startswith("embeddings via route `embed`")
    assert "embedded through" in report["method"] and "cosine" in report["method"]
    # The three misspelled first turns are one failure mode, covered by the correctly spelled case.
    assert len(report["clusters"]) == 1, report["clusters"]
    c = report["clusters"][0]
    assert c["size"] == 3 and c["covered"] and c["nearest_case"]["case_id"] == "cancel", c
    assert c["top_terms"], "top terms still come from TF-IDF"


def test_a_broken_route_falls_back_to_lexical_and_says_why(gateway):
    args = ("--since", "1h", "--gateway", gateway.base, "--key", gateway.key, "--json")
    report = json.loads(gateway.seam("failures", *args, config=gateway.broken_cfg).stdout)
    assert report["similarity"].startswith("lexical (embedding route `broken` "), report["similarity"]
    assert "answered" in report["similarity"], report["similarity"]
    cov = json.loads(gateway.seam("coverage", *args, config=gateway.broken_cfg).stdout)
    assert cov["similarity"].startswith("lexical (embedding route `broken` "), cov["similarity"]
    assert "TF-IDF" in cov["method"]
    # No key and no --gateway: the in-process gateway cannot take calls; still a report, lexical.
    env_key = {k: v for k, v in gateway.env.items() if k != "SEAM_KEY"}
    out = subprocess.run(
        [SEAM, "failures", "--since", "1h", "--config", str(gateway.embed_cfg)],
        env=env_key, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "similarity (rephrase): lexical (embedding route `embed` not reachable:" in out.stdout, out.stdout
    assert "--key" in out.stdout


def test_serves_pass_embeds_through_the_gateway_with_key_env(gateway):
    """`seam serve`'s background pass embeds too: through the gateway itself, with `[failures]
    key_env`'s key, as eval traffic (calls on route `embed` appear, and are never flagged)."""

    def embed_calls():
        out = gateway.seam("calls", "--since", "1h", "--route", "embed", "--limit", "1000", "--json", config=gateway.embed_cfg)
        doc = json.loads(out.stdout)
        return len(doc if isinstance(doc, list) else doc["calls"])

    before = embed_calls()
    port = free_port()
    cfg = gateway.tmp / "pass.toml"
    text = gateway.embed_cfg.read_text().replace(f"127.0.0.1:{gateway.ports['gw_port']}", f"127.0.0.1:{port}")
    text = text.replace("enabled = false", 'enabled = true\ninterval_secs = 10\nkey_env = "E2E_FAILURES_KEY"')
    # A second gateway on the store needs a records spool of its own.
    text = text.replace("flush_interval_ms = 10", f'flush_interval_ms = 10\n\n[records]\nspool_dir = "{gateway.tmp / "pass-spool"}"')
    cfg.write_text(text)
    serve = subprocess.Popen(
        [SEAM, "serve", "--config", str(cfg)],
        env={**gateway.env, "E2E_FAILURES_KEY": gateway.key},
        stderr=open(gateway.tmp / "pass.log", "w"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", serve)
        deadline = time.monotonic() + 40
        while embed_calls() == before:
            assert time.monotonic() < deadline, (gateway.tmp / "pass.log").read_text()
            time.sleep(1)
    finally:
        serve.terminate()
        serve.wait(timeout=15)
    log = (gateway.tmp / "pass.log").read_text()
    assert "lexical (" not in log, log
    for first, second in [*REPHRASED, UNRELATED]:
        assert first not in log and second not in log, "a user's text reached the log"
