"""Seam's soak: a release build of `seam serve` under moderate, mixed traffic through `seam sim`
for --minutes (default 30), with faults injected on a schedule:

  upstream 5xx bursts   the sim answers half the requests with 503 (retries absorb some)
  slow streams          the sim sends chunks 150 ms apart after 200 ms of latency
  client disconnects    half the streaming clients leave after the first bytes
  store outage          PostgreSQL behind a TCP proxy that resets every connection
  Redis restart         the limits' Redis (the soak's own, on another port) stopped, started empty
  hot reload            the config file rewritten (a route added, prices changed)
  deploy                a new release of a prompt approved by another owner and deployed

It samples the gateway's RSS, open file descriptors and threads, and checks at the end:
every call the gateway acknowledged (an answer with x-seam-call-id) is recorded in the store,
and the limited tenant's calls per UTC minute stay within its limits (tokens: within the
reservations that can be outstanding). Writes its table to bench/results/soak-DATE.md.
Talks only to 127.0.0.1. Needs PostgreSQL (SEAM_TEST_POSTGRES, default
postgres://postgres@127.0.0.1:5432/test; a schema of its own, dropped at the end), psql and
redis-server.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from soak_parts import Load, OwnRedis, ResetProxy, free_port, open_fds, rss_mib, threads, wait_port

ROOT = Path(__file__).resolve().parents[1]
SEAM = ROOT / "target" / "release" / "seam"
PG_BASE = os.environ.get("SEAM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
BASE_SCENARIO = '[latency]\nfixed_ms = 5\njitter = { kind = "exponential", mean_ms = 10.0 }\n[stream]\ninterval_ms = 5\n'
LIMITS = {"requests_per_minute": 200, "tokens_per_minute": 6000}


def pg_url(schema, port=None):
    """PG_BASE with the schema as search_path, and through `port` when given."""
    u = urllib.parse.urlsplit(PG_BASE)
    netloc = u.netloc
    if port is not None:
        user, at, _ = netloc.rpartition("@")
        netloc = f"{user}{at}127.0.0.1:{port}"
    query = "&".join(q for q in [u.query, "options=" + urllib.parse.quote(f"-c search_path={schema}")] if q)
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, query, ""))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql],
                         capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def config_text(gw_port, store_url, sim_port, redis_port, reloaded=False):
    extra = ""
    if reloaded:
        extra = """
[[routes]]
name = "chat-reloaded"
targets = [{ provider = "sim", model = "sim-large-2026-01" }]
"""
    price = "1.5" if reloaded else "1.0"
    return f"""
[server]
listen = "127.0.0.1:{gw_port}"
shutdown_grace_secs = 30
[store]
url = "{store_url}"
max_connections = 4
# Small, so that a store outage of a few seconds moves calls to the spool (half of it).
queue_capacity = 512
[records]
spool_dir = "spool"
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:{sim_port}/v1"
timeout_ms = 15000
[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 3, backoff_base_ms = 20, backoff_max_ms = 200 }}
[[routes]]
name = "embed"
targets = [{{ provider = "sim", model = "sim-embed-1" }}]
{extra}
[prompts]
dir = "prompts"
[sessions]
idle_secs = 60
[prices."sim-large-2026-01"]
input = {price}
output = 4.0
[limits]
backend = "redis://127.0.0.1:{redis_port}"
key_prefix = "seam-soak"
on_backend_down = {{ requests = "closed", tokens = "closed", cost = "closed" }}
[limits.tenants.soak-limited]
requests_per_minute = {LIMITS["requests_per_minute"]}
tokens_per_minute = {LIMITS["tokens_per_minute"]}
"""


PROMPT = """name = "soak-bot"
owners = ["ana", "ben"]
route = "chat"
model = "sim-large-2026-01"
variables = {{ customer = "string" }}

[[messages]]
role = "system"
content = "You help {{{{ customer }}}} with billing. Version {version}."
"""


class Soak:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.schema = f"seam_soak_{os.getpid()}"
        self.limits = LIMITS
        self.procs = []
        self.events = []  # (t, text)
        self.samples = []
        self.t0 = None

    def t(self):
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def log(self, text):
        self.events.append((round(self.t()), time.time(), text))
        print(f"[{self.t():7.1f}s] {text}", file=sys.stderr, flush=True)

    def seam(self, *args, token=None, check=True):
        env = {k: v for k, v in os.environ.items() if k != "SEAM_TOKEN"}
        if token:
            env["SEAM_TOKEN"] = token
        r = subprocess.run([str(SEAM), *args], capture_output=True, text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"seam {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def setup(self):
        tmp = self.tmp
        psql(PG_BASE, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE; CREATE SCHEMA {self.schema}")
        self.direct = pg_url(self.schema)
        self.proxy = ResetProxy(int(urllib.parse.urlsplit(PG_BASE).port or 5432))
        self.redis = OwnRedis(tmp)
        self.redis.start()
        self.sim_port, self.gw_port = free_port(), free_port()
        self.store_url = pg_url(self.schema, self.proxy.port)
        self.config = tmp / "seam.toml"
        self.config.write_text(config_text(self.gw_port, self.store_url, self.sim_port, self.redis.port))
        (tmp / "prompts").mkdir()
        (tmp / "prompts" / "soak-bot.toml").write_text(PROMPT.format(version=1))
        self.seam("migrate", "--config", str(self.config))
        self.keys = {t: json.loads(self.seam("keys", "create", "--tenant", t, "--json", "--config", str(self.config)))["key"]
                     for t in ("soak", "soak-limited")}
        store = ["--store", self.direct]
        self.users = {"root": self.seam("users", "create", "root", *store)}
        for name in ("ana", "ben"):
            self.users[name] = self.seam("users", "create", name, *store, token=self.users["root"])
        first = self.release()
        self.seam("release", "approve", first, *store, token=self.users["root"])
        self.seam("deploy", "soak-bot@production", first, *store, token=self.users["root"])
        self.release_ids = [first]
        env = {**os.environ, "SEAM_LOG": "warn"}
        env.pop("SEAM_TOKEN", None)
        self.sim = self.start([str(SEAM), "sim", "--listen", f"127.0.0.1:{self.sim_port}"], "sim", env)
        wait_port(self.sim_port)
        self.scenario(BASE_SCENARIO)
        self.gw = self.start([str(SEAM), "serve", "--config", str(self.config)], "seam", env, cwd=tmp)
        wait_port(self.gw_port, timeout=60)

    def release(self):
        out = self.seam("release", "create", "soak-bot", "--dir", str(self.tmp / "prompts"), "--json",
                        "--store", self.direct, token=self.users["ana"])
        return json.loads(out)["id"]

    def start(self, argv, name, env, cwd=None):
        p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=open(self.tmp / f"{name}.log", "a"))
        self.procs.append(p)
        return p

    def scenario(self, toml):
        req = urllib.request.Request(f"http://127.0.0.1:{self.sim_port}/_sim/scenario", data=toml.encode(), method="PUT")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.gw_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for name in ("seam_records_written_total", "seam_records_spooled_total", "seam_record_spool_bytes"):
            m = re.search(rf"^{name} ([\d.e+]+)", text, re.M)
            out[name] = float(m.group(1)) if m else 0.0
        out["dropped"] = sum(float(v) for v in re.findall(r"^seam_records_dropped_total\{[^}]*\} ([\d.e+]+)", text, re.M))
        out["reloads_applied"] = sum(float(v) for v in re.findall(r'^seam_reloads_total\{[^}]*"applied"[^}]*\} ([\d.e+]+)', text, re.M))
        return out

    # Faults: each returns what undoes it (or None).
    def upstream_5xx(self):
        self.scenario(BASE_SCENARIO + '[[errors]]\nkind = "status"\nstatus = 503\nrate = 0.5\n')
        return lambda: self.scenario(BASE_SCENARIO)

    def slow_streams(self):
        self.scenario('[latency]\nfixed_ms = 200\n[stream]\ninterval_ms = 150\n')
        return lambda: self.scenario(BASE_SCENARIO)

    def client_disconnects(self):
        self.load.disconnect_p = 0.5
        return lambda: setattr(self.load, "disconnect_p", 0.05)

    def store_outage(self):
        self.proxy.set_down(True)
        return lambda: self.proxy.set_down(False)

    def redis_restart(self):
        self.redis.stop()
        return self.redis.start

    def hot_reload(self):
        before = self.metrics().get("reloads_applied", 0.0)
        self.config.write_text(config_text(self.gw_port, self.store_url, self.sim_port, self.redis.port, reloaded=True))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.metrics().get("reloads_applied", 0.0) > before:
                self.log("hot reload applied")
                return None
            time.sleep(0.5)
        self.log("hot reload: NOT applied within 15 s")
        self.failures.append("the hot reload was not applied within 15 s")
        return None

    def deploy(self):
        (self.tmp / "prompts" / "soak-bot.toml").write_text(PROMPT.format(version=2))
        store = ["--store", self.direct]
        new = self.release()
        self.seam("release", "approve", new, *store, token=self.users["ben"])
        self.seam("deploy", "soak-bot@production", new, *store, token=self.users["ana"])
        self.release_ids.append(new)
        # A call without a session gets what production serves now (the snapshot is
        # refreshed every second); sessions pinned before keep theirs until they end.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.served_release() == new:
                self.log(f"deployed {new}, served")
                return None
            time.sleep(0.5)
        self.log(f"deploy: {new} NOT served within 15 s")
        self.failures.append(f"the deployed release {new} was not served within 15 s")
        return None

    def served_release(self):
        body = json.dumps({"model": "prompt:soak-bot", "seam_variables": {"customer": "probe"},
                           "messages": [{"role": "user", "content": "which release"}], "max_tokens": 8})
        req = urllib.request.Request(f"http://127.0.0.1:{self.gw_port}/v1/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.keys['soak']}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read()
                if r.headers.get("x-seam-call-id"):
                    self.load.acked.add(r.headers["x-seam-call-id"])
                return r.headers.get("x-seam-release")
        except OSError:
            return None

    def schedule(self, secs):
        """(start s, fault, seconds) on the run's clock; lengths scale with the run, within bounds."""
        def at(frac, fault, length_frac=0.0, least=0.0, most=90.0):
            return (frac * secs, fault, min(most, max(least, length_frac * secs)) if length_frac else 0.0)
        return sorted([
            at(0.12, "upstream_5xx", 0.04, 8, 60),
            at(0.20, "slow_streams", 0.05, 10, 90),
            at(0.28, "client_disconnects", 0.04, 8, 60),
            at(0.36, "store_outage", 0.03, 8, 45),
            at(0.46, "redis_restart", 0.02, 5, 30),
            at(0.54, "hot_reload"),
            at(0.62, "deploy"),
            at(0.70, "upstream_5xx", 0.04, 8, 60),
            at(0.78, "store_outage", 0.03, 8, 45),
        ], key=lambda x: x[0])

    def run(self):
        secs = self.args.minutes * 60
        sample_every = max(5.0, secs / 180)
        self.failures = []
        self.load = Load(self.gw_port, self.keys, self.args.rate)
        plan = self.schedule(secs)
        active = {}  # fault -> (end, undo)
        self.t0 = time.monotonic()
        self.load.start()
        self.log(f"load started: ~{self.args.rate} calls/s for {self.args.minutes} min")
        last = (0.0, self.load.snapshot())
        next_sample = 0.0
        while self.t() < secs:
            now = self.t()
            while plan and plan[0][0] <= now:
                _, fault, length = plan.pop(0)
                try:
                    undo = getattr(self, fault)()
                except Exception as e:  # a fault that cannot be injected is a finding too
                    self.failures.append(f"{fault}: {e}")
                    self.log(f"{fault} failed: {e}")
                    continue
                if undo:
                    active[fault] = (now + length, undo)
                    self.log(f"{fault} for {length:.0f} s")
            for fault, (end, undo) in list(active.items()):
                if now >= end:
                    undo()
                    del active[fault]
                    self.log(f"{fault} over")
            if now >= next_sample:
                counts = self.load.snapshot()
                self.sample(now, last, counts, sorted(active))
                last = (now, counts)
                next_sample += sample_every
            time.sleep(0.2)
        for fault, (_, undo) in active.items():
            undo()
        self.log("load stopping")
        stuck = self.load.finish()
        if stuck:
            self.failures.append(f"{stuck} load workers did not finish")
        self.sample(self.t(), last, self.load.snapshot(), [])

    def sample(self, now, last, counts, active):
        dt = max(0.001, now - last[0])
        diff = counts - last[1]
        calls = diff["all"]
        by_status = {}
        for k, v in diff.items():
            if ":" in k:
                status = k.split(":", 1)[1]
                by_status[status] = by_status.get(status, 0) + v
        m = self.metrics()
        row = {
            "t": round(now), "calls_per_s": round(calls / dt, 1),
            "ok": by_status.get("200", 0), "s429": by_status.get("429", 0),
            "s5xx": sum(v for s, v in by_status.items() if s.isdigit() and s.startswith("5")),
            "left": by_status.get("left", 0),
            "errors": sum(v for s, v in by_status.items() if not s.isdigit() and s != "left"),
            "rss_mib": round(rss_mib(self.gw.pid), 1), "fds": open_fds(self.gw.pid), "threads": threads(self.gw.pid),
            "written": int(m.get("seam_records_written_total", 0)), "spool_kib": round(m.get("seam_record_spool_bytes", 0) / 1024),
            "faults": ",".join(active),
        }
        self.samples.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    def settle_and_stop(self):
        """Waits for the record writer to catch up, then stops the gateway cleanly (SIGTERM:
        what is queued is written before it exits)."""
        deadline = time.monotonic() + 120
        prev = None
        while time.monotonic() < deadline:
            m = self.metrics()
            cur = (m.get("seam_records_written_total"), m.get("seam_record_spool_bytes"))
            if cur == prev and not cur[1]:
                break
            prev = cur
            time.sleep(2)
        self.final_metrics = self.metrics()
        self.gw.send_signal(signal.SIGTERM)
        self.gw_exit = self.gw.wait(timeout=60)

    def verify(self):
        stored = {r[0] for r in psql(self.direct, "SELECT id FROM calls")}
        acked = self.load.acked
        self.missing = sorted(acked - stored)
        self.unacked_stored = len(stored - acked)
        self.stored = len(stored)
        rows = psql(self.direct, (
            "SELECT created_ms / 60000, COUNT(*), COALESCE(SUM(input_tokens + output_tokens), 0), "
            "COALESCE(MAX(input_tokens + output_tokens), 0) "
            "FROM calls WHERE tenant = 'soak-limited' AND attempts > 0 GROUP BY 1 ORDER BY 1"))
        self.minutes = [(int(a), int(b), int(c), int(d)) for a, b, c, d in rows]
        # Tokens are reserved per attempt before it and settled after: concurrent calls can
        # take a window past its limit by what they reserved and had not settled (at most one
        # call per load worker at a time).
        biggest = max((m[3] for m in self.minutes), default=0)
        self.token_slack = self.load.workers * biggest
        # Requests are counted at admission. After an emptied Redis the windows are re-seeded
        # from the stored records, which do not hold the calls still in flight (or just
        # finished and not yet written): at most one per load worker, plus a flush interval's.
        self.req_slack = self.load.workers
        self.req_over = max((m[1] - LIMITS["requests_per_minute"] for m in self.minutes), default=0)
        self.tok_over = max((m[2] - LIMITS["tokens_per_minute"] for m in self.minutes), default=0)

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.redis.stop()
        subprocess.run(["psql", PG_BASE, "-c", f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=40.0, help="calls per second offered, in all")
    ap.add_argument("--out", default=None, help="the results file (default bench/results/soak-DATE[-short].md)")
    args = ap.parse_args()
    if not SEAM.exists():
        sys.exit(f"no {SEAM}: bench/soak builds it (cargo build --release -p seam)")
    tmp = Path(tempfile.mkdtemp(prefix="seam-soak-"))
    soak = Soak(args, tmp)
    try:
        soak.setup()
        soak.run()
        soak.settle_and_stop()
        soak.verify()
    finally:
        soak.stop_all()
    from soak_report import write
    out = write(soak, args)
    print(f"wrote {out} (logs in {tmp})", file=sys.stderr)
    sys.exit(1 if soak.verdicts_failed else 0)


if __name__ == "__main__":
    main()
