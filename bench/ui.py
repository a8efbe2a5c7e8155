"""The dashboard at scale (issue 25): every page's time to render with a million calls in the
SQLite store, and what a dashboard refreshing every 5 s costs the data plane.

1. A store is made by `seam` (migrations, an admin user), then N calls (default 1,000,000) are
   written into it with sqlite3: spread over the last `--span-hours` (default 24, so the 24 h
   pages see all of them: the worst case), over 5 tenants, 4 routes, 3% failing on the first
   attempt and retried, 1% failing for good, one call in ten part of a 10-call trace.
2. `seam serve` on that store (one worker, pinned to core 0); a session signed in through the
   sign-in form; each page requested `--repeat` times in a row over loopback: median, p95 and
   maximum of the time to the last byte, and the page's status.
3. With `--poll-rounds R`: R interleaved rounds of wrk at 16 connections against the sim (on
   core 1) through the same gateway, alone and with a dashboard open (Home, Reliability and
   Calls fetched every 5 s), as ratios within each round.

Writes bench/results/<date>-ui.md. Talks only to 127.0.0.1. Needs sqlite3, wrk and a release
build (`bench/run ui` builds it).
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bench import (ONE_WORKER, ROOT, SEAM, SIM_PORT, SEAM_PORT, Round, drain, lua, machine, wait_port, wrk)

PAGES = [
    "/ui/",
    "/ui/timeline?since=7d",
    "/ui/calls",
    "/ui/calls?route=r1&status=5xx&since=24h",
    "/ui/calls?route=nowhere&since=24h",
    "/ui/calls?route=r0&status=5xx&since=24h",
    "/ui/calls?tenant=t3&since=24h",
    "/ui/calls/{call}",
    "/ui/traces/{trace}",
    "/ui/reliability?since=24h",
    "/ui/reliability?since=7d",
    "/ui/streams?since=24h",
    "/ui/usage?since=24h",
    "/ui/usage?since=24h&by=trace",
    "/ui/prompts",
    "/ui/evals",
    "/ui/audit",
    "/ui/keys",
    "/ui/users",
]
POLLED = ["/ui/", "/ui/reliability?since=24h", "/ui/calls"]


def config(tmp: Path) -> str:
    return f"""
[server]
listen = "127.0.0.1:{SEAM_PORT}"
[store]
url = "sqlite://{tmp}/seam.db"
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:{SIM_PORT}/v1"
[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
[prices."sim-large-2026-01"]
input = 1.0
output = 4.0
"""


def seed(db: Path, n: int, span_ms: int) -> float:
    """N calls into the store's calls table (and an attempts row for each retried call)."""
    now = int(time.time() * 1000)
    start = now - span_ms
    sql = f"""
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {n - 1})
INSERT INTO calls (id, created_ms, tenant, key_id, trace_id, endpoint, route, stream, requested_model,
  provider, served_model, status, outcome, error_class, attempts, latency_ms, ttfb_ms, input_tokens,
  output_tokens, cost_usd, tokens_estimated, budget_exhausted, unpriced, attempt_model, attempt_created_ms,
  attempt_status, attempt_outcome, attempt_latency_ms, attempt_ttfb_ms)
SELECT printf('call_b%08d', i), {start} + (i * {span_ms}) / {n}, 't' || (i % 5), 'key_' || (i % 5),
  CASE WHEN i % 10 = 0 THEN printf('trace_b%07d', i / 100) ELSE printf('call_b%08d', i) END,
  '/v1/chat/completions', 'r' || (i % 4), i % 7 = 0, 'r' || (i % 4), 'sim', 'sim-large-2026-01',
  CASE WHEN i % 100 = 1 THEN 502 ELSE 200 END,
  CASE WHEN i % 100 = 1 THEN 'error' ELSE 'ok' END,
  CASE WHEN i % 100 = 1 THEN 'status_5xx' ELSE NULL END,
  CASE WHEN i % 100 < 4 THEN 2 ELSE 1 END, 20.0 + (i % 50), 5.0, 120 + (i % 40), 60 + (i % 90),
  0.0004, 0, 0, 0,
  CASE WHEN i % 100 < 4 THEN NULL ELSE 'sim-large-2026-01' END,
  CASE WHEN i % 100 < 4 THEN NULL ELSE {start} + (i * {span_ms}) / {n} END,
  CASE WHEN i % 100 < 4 THEN NULL ELSE 200 END,
  CASE WHEN i % 100 < 4 THEN NULL ELSE 'ok' END,
  CASE WHEN i % 100 < 4 THEN NULL ELSE 20.0 + (i % 50) END,
  CASE WHEN i % 100 < 4 THEN NULL ELSE 5.0 END
FROM seq;
-- A retried call keeps both attempts in the attempts table: the first failed, the second as the call ended.
INSERT INTO attempts (id, call_id, seq, created_ms, tenant, trace_id, route, provider, model, served_model, status,
  outcome, error_class, latency_ms, input_tokens, output_tokens, cost_usd, tokens_estimated)
SELECT id || '-' || s.seq, id, s.seq, created_ms, tenant, trace_id, route, 'sim', 'sim-large-2026-01',
  'sim-large-2026-01', CASE WHEN s.seq = 1 THEN 502 ELSE status END,
  CASE WHEN s.seq = 1 THEN 'error' ELSE outcome END, CASE WHEN s.seq = 1 THEN 'status_5xx' ELSE error_class END,
  10.0, 0, 0, 0.0, 0
FROM calls, (SELECT 1 AS seq UNION ALL SELECT 2) AS s WHERE attempts = 2;
COMMIT;
ANALYZE;
"""
    t0 = time.monotonic()
    subprocess.run(["sqlite3", str(db)], input=sql, text=True, check=True, capture_output=True)
    return time.monotonic() - t0


def seam_cli(cfg: Path, *args, token=None) -> dict:
    env = {**os.environ, "SEAM_TOKEN": token} if token else None
    out = subprocess.run([str(SEAM), *args, "--json", "--config", str(cfg)], capture_output=True, text=True,
                         check=True, env=env).stdout
    return json.loads(out)


class Browser:
    """A browser's session: the sign-in form's cookie and token, then the session cookie."""

    def __init__(self, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", SEAM_PORT, timeout=60)
        form = self.request("GET", "/ui/signin")
        pre = self.cookie(form, "seam_ui_signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form[2]).group(1)
        body = urllib.parse.urlencode({"token": token, "csrf": csrf})
        done = self.request("POST", "/ui/signin", body, {"Cookie": pre,
                                                         "Content-Type": "application/x-www-form-urlencoded"})
        if done[0] != 303:
            raise SystemExit(f"sign-in failed: {done[0]}")
        self.session = self.cookie(done, "seam_ui")

    @staticmethod
    def cookie(answer, name):
        for k, v in answer[1]:
            if k.lower() == "set-cookie" and v.startswith(name + "="):
                return v.split(";")[0]
        raise SystemExit(f"no {name} cookie")

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.getheaders(), r.read().decode("utf-8", "replace")

    def get(self, path):
        t0 = time.perf_counter()
        status, _, body = self.request("GET", path, headers={"Cookie": self.session})
        return status, (time.perf_counter() - t0) * 1000, len(body)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def time_pages(browser, subs, repeat):
    rows = []
    for page in PAGES:
        path = page.format(**subs)
        status, _, size = browser.get(path)  # warm: the first read pulls the pages into the cache
        times = []
        if status == 200:
            for _ in range(repeat):
                s, ms, _ = browser.get(path)
                if s != 200:
                    raise SystemExit(f"{path}: {s} after a 200")
                times.append(ms)
        rows.append({"page": page, "status": status, "bytes": size, "times": times})
        note = f"median {statistics.median(times):.1f} ms" if times else "not served"
        print(f"{path}: {status} {note}", file=sys.stderr)
    return rows


def poller(token, stop, counts, polled):
    b = Browser(token)
    while not stop.is_set():
        for p in polled:
            b.get(p)
            counts[0] += 1
        stop.wait(5.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--span-hours", type=float, default=24.0)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--poll-rounds", type=int, default=5)
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--out", default=None)
    ap.add_argument("--poll", default=",".join(POLLED), help="the pages the dashboard fetches every 5 s")
    ap.add_argument("--pages", action=argparse.BooleanOptionalAction, default=True,
                    help="time every page (--no-pages: only the polling rounds)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seam-bench-ui-"))
    cfg = tmp / "seam.toml"
    cfg.write_text(config(tmp))
    token = seam_cli(cfg, "users", "create", "bench")["token"]
    key = seam_cli(cfg, "keys", "create", "--tenant", "t0", token=token)["key"]
    seeded = seed(tmp / "seam.db", args.calls, int(args.span_hours * 3_600_000))
    print(f"seeded {args.calls} calls in {seeded:.0f} s", file=sys.stderr)
    rnd = Round(tmp, args.secs)
    polls = []
    poll_pages = []
    try:
        rnd.start([str(SEAM), "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        rnd.start([str(SEAM), "serve", "--config", str(cfg)], core=0, env=ONE_WORKER, log="seam")
        wait_port(SEAM_PORT)
        browser = Browser(token)
        subs = {"call": "call_b00000001", "trace": "trace_b0000000"}
        rows = time_pages(browser, subs, args.repeat) if args.pages else []
        poll_pages = [p for p in args.poll.split(",") if p]
        script = str(lua(tmp / "chat.lua", key))
        wrk(SEAM_PORT, 16, 2, script)
        drain(SEAM_PORT)
        for i in range(args.poll_rounds):
            order = ("alone", "polled") if i % 2 == 0 else ("polled", "alone")
            got = {}
            for mode in order:
                stop, counts = threading.Event(), [0]
                t = None
                if mode == "polled":
                    t = threading.Thread(target=poller, args=(token, stop, counts, poll_pages))
                    t.start()
                got[mode] = wrk(SEAM_PORT, 16, args.secs, script)
                stop.set()
                if t:
                    t.join()
                    got["pages"] = counts[0]
                drain(SEAM_PORT)
            polls.append(got)
            print(f"round {i}: alone {got['alone']['rps']:.0f} polled {got['polled']['rps']:.0f} req/s "
                  f"({got['pages']} pages)", file=sys.stderr)
    finally:
        rnd.stop()
    lines = [
        f"# The dashboard at scale, {datetime.date.today()}",
        "",
        f"Machine: {machine()}. One `seam serve` (one worker) pinned to core 0 on a SQLite store holding"
        f" {args.calls:,} calls over the last {args.span_hours:g} h (5 tenants, 4 routes, 4% retried, 1% failed;"
        f" seeded with sqlite3 in {seeded:.0f} s). Each page fetched {args.repeat} times in a row over loopback"
        " by one signed-in admin after one warm-up fetch; times are to the last byte, as the client sees them.",
        "",
        "| page | status | bytes | median ms | p95 ms | max ms | under 200 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["times"]:
            t = r["times"]
            ok = "yes" if max(t) < 200 else "**no**"
            lines.append(f"| `{r['page']}` | {r['status']} | {r['bytes']} | {statistics.median(t):.1f} |"
                         f" {pct(t, 0.95):.1f} | {max(t):.1f} | {ok} |")
        else:
            lines.append(f"| `{r['page']}` | {r['status']} | {r['bytes']} | | | | not served |")
    if polls:
        ratios = [p["polled"]["rps"] / p["alone"]["rps"] for p in polls]
        alone = statistics.median(p["alone"]["rps"] for p in polls)
        polled = statistics.median(p["polled"]["rps"] for p in polls)
        lines += [
            "",
            f"A dashboard open, fetching {', '.join(f'`{p}`' for p in poll_pages)} every 5 s, while wrk drives the"
            f" data plane at 16 connections ({args.poll_rounds} interleaved rounds of {args.secs} s, the sim on"
            " core 1):",
            "",
            "| data plane | median req/s | polled vs alone, per round |",
            "|---|---|---|",
            f"| alone | {alone:.0f} | |",
            f"| dashboard polling | {polled:.0f} | {', '.join(f'{r:.0%}' for r in ratios)}"
            f" (median {statistics.median(ratios):.0%}) |",
        ]
    report = "\n".join(lines) + "\n"
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{datetime.date.today()}-ui.md"
    out.write_text(report)
    print(report)
    print(f"written to {out}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
