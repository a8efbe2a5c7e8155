"""The gateway-bound round: an upstream far cheaper than the gateways it measures.

nginx answers every request with a fixed body (a chat.completion, or a short SSE stream of a
role chunk, two content chunks, a finish chunk with usage and [DONE]) at ~12 µs of CPU a
request, pinned with wrk to core 1. The gateway under test (an nginx proxy, or Seam recording
every call to SQLite) runs alone on core 0 with one worker, so it is the bottleneck and the
ratio reads the gateway, not the upstream (../shared/BENCH.md). Rounds are interleaved (direct,
nginx, the hyper floor, Seam in turn) and each figure is the median over rounds.

The hyper floor (bench/floor) is a bare proxy on Seam's own stack (tokio, the vendored hyper,
mimalloc) that does none of Seam's work: what it costs above nginx is the stack's, what Seam
costs above it is Seam's. Each gateway's CPU is also split between its event loop's thread and
its other threads: for Seam, the other threads are the record writer's (its idle-priority
thread and tokio's blocking pool for urgent batches), so the table shows what recording costs.

`bench/run bound [--secs N] [--rounds N]` runs this round alone; bench.py runs it first and
puts it at the top of its results as the headline.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench as b
import capture_cpu

UPSTREAM_PORT, PROXY_PORT, SEAM_PORT, FLOOR_PORT = 18050, 18060, 18070, 18080
FLOOR = b.ROOT / "target" / "release" / "bench-floor"
MODEL = "fixed-2026-01"

COMPLETION = json.dumps({
    "id": "chatcmpl-fixed", "object": "chat.completion", "created": 1767225600, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Annual plans are refunded pro rata within 30 days."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 14, "completion_tokens": 11, "total_tokens": 25},
}, separators=(",", ":"))


def _chunk(delta, finish=None, usage=None):
    c = {"id": "chatcmpl-fixed", "object": "chat.completion.chunk", "created": 1767225600, "model": MODEL,
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        c["choices"] = []
        c["usage"] = usage
    return "data: " + json.dumps(c, separators=(",", ":")) + "\n\n"


STREAM = (_chunk({"role": "assistant", "content": ""}) + _chunk({"content": "Annual plans are refunded"})
          + _chunk({"content": " pro rata within 30 days."}) + _chunk({}, finish="stop")
          + _chunk({}, usage={"prompt_tokens": 14, "completion_tokens": 11, "total_tokens": 25}) + "data: [DONE]\n\n")


def nginx_quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def upstream_conf(tmp: Path) -> Path:
    """The fixed-answer upstream (/json/v1/... and /sse/v1/...); the proxy has a config of its
    own, so that each nginx can be pinned to its core."""
    conf = tmp / "upstream.conf"
    conf.write_text(b.nginx_head(tmp, "upstream") + f"""  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{UPSTREAM_PORT};
    tcp_nodelay on;
    location /json/ {{ default_type application/json; return 200 {nginx_quote(COMPLETION)}; }}
    location /sse/ {{ default_type text/event-stream; return 200 {nginx_quote(STREAM)}; }}
  }}
}}
""")
    return conf


def proxy_conf(tmp: Path) -> Path:
    conf = tmp / "proxy.conf"
    conf.write_text(b.nginx_head(tmp, "proxy") + f"""  keepalive_requests 1000000;
  upstream fixed {{ server 127.0.0.1:{UPSTREAM_PORT}; keepalive 128; keepalive_requests 1000000; }}
  server {{
    listen 127.0.0.1:{PROXY_PORT};
    tcp_nodelay on;
    location = /v1/chat/completions {{
      # The same request path as Seam's: the body's "model" picks the fixed answer's kind.
      set $kind json;
      if ($http_x_bench_kind = sse) {{ set $kind sse; }}
      proxy_pass http://fixed/$kind/v1/chat/completions;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
""")
    return conf


def seam_conf(tmp: Path) -> Path:
    conf = tmp / "seam-bound.toml"
    conf.write_text(f"""
[server]
listen = "127.0.0.1:{SEAM_PORT}"
[store]
url = "sqlite://{tmp}/seam-bound.db"
[records]
spool_dir = "spool-bound"
[[providers]]
name = "fixed-json"
kind = "openai"
base_url = "http://127.0.0.1:{UPSTREAM_PORT}/json/v1"
[[providers]]
name = "fixed-sse"
kind = "openai"
base_url = "http://127.0.0.1:{UPSTREAM_PORT}/sse/v1"
[[routes]]
name = "json"
targets = [{{ provider = "fixed-json", model = "{MODEL}" }}]
[[routes]]
name = "sse"
targets = [{{ provider = "fixed-sse", model = "{MODEL}" }}]
[prices."{MODEL}"]
input = 1.0
output = 4.0
""")
    return conf


QUESTION = [{"role": "user", "content": "Summarise the refund policy for an annual plan in one line."}]


def script(path: Path, key, kind) -> Path:
    body = {"model": kind, "messages": QUESTION}
    if kind == "sse":
        body["stream"] = True
    lines = ['wrk.method = "POST"', f"wrk.body = [[{json.dumps(body)}]]",
             'wrk.headers["Content-Type"] = "application/json"', f'wrk.headers["X-Bench-Kind"] = "{kind}"']
    if key:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk_at(port, path, conns, secs, lua):
    """wrk against a full URL path (the upstream's fixed answers sit under /json and /sse)."""
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", "-s", str(lua), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return b.parse_wrk(out)


def run(secs=10, rounds=5, latency_secs=5):
    for binary, package in ((b.SEAM, "seam"), (FLOOR, "bench-floor")):
        if not binary.exists():
            sys.exit(f"{binary} is missing: run `cargo build --release -p {package}` (bench/run does)")
    tmp = Path(tempfile.mkdtemp(prefix="seam-bound-"))
    conf = seam_conf(tmp)
    key = b.create_key(conf, "bench")
    rnd = b.Round(tmp, secs)
    try:
        rnd.start(["nginx", "-c", str(upstream_conf(tmp))], core=1, log="upstream")
        px = rnd.start(["nginx", "-c", str(proxy_conf(tmp))], core=0, log="proxy")
        floor = rnd.start([str(FLOOR), f"127.0.0.1:{FLOOR_PORT}", f"127.0.0.1:{UPSTREAM_PORT}"], core=0, log="floor")
        seam = rnd.start([str(b.SEAM), "serve", "--config", str(conf)], core=0, env=b.ONE_WORKER, log="seam-bound")
        for port in (UPSTREAM_PORT, PROXY_PORT, FLOOR_PORT, SEAM_PORT):
            b.wait_port(port)
        px_worker = b.worker_of(px.pid)
        # Gateways take one path; the header the scripts send picks the answer's kind.
        gateway = {"json": "/v1/chat/completions", "sse": "/v1/chat/completions"}
        targets = {
            "direct": (UPSTREAM_PORT, None, {"json": "/json/v1/chat/completions", "sse": "/sse/v1/chat/completions"}),
            "nginx": (PROXY_PORT, px_worker, gateway),
            "floor": (FLOOR_PORT, floor.pid, gateway),
            "seam": (SEAM_PORT, seam.pid, gateway),
        }
        luas = {kind: script(tmp / f"{kind}.lua", key, kind) for kind in ("json", "sse")}
        for name, (port, _, paths) in targets.items():  # warm-up
            for kind in luas:
                wrk_at(port, paths[kind], 16, 2, luas[kind])
        runs = {(n, k): [] for n in targets for k in luas}
        for _ in range(rounds):
            for kind, lua in luas.items():
                for name, (port, pid, paths) in targets.items():
                    m = {"c1": wrk_at(port, paths[kind], 1, latency_secs, lua)}
                    s0 = b.steal()
                    busy0 = b.machine_busy()
                    c0, l0 = user_sys(pid), loop_cpu(pid)
                    m["c16"] = wrk_at(port, paths[kind], 16, secs, lua)
                    per_call = lambda t: t / b.TICK * 1e6 / max(1, m["c16"]["requests"])
                    u, k = (a - z for a, z in zip(user_sys(pid), c0))
                    m["cpu_us"], m["user_us"], m["sys_us"] = per_call(u + k), per_call(u), per_call(k)
                    # What the event loop's thread took; the rest is the other threads' (for
                    # Seam, the record writer's: its own thread and tokio's blocking pool).
                    m["loop_us"] = per_call(loop_cpu(pid) - l0)
                    m["other_us"] = m["cpu_us"] - m["loop_us"]
                    m["steal"] = b.share(s0, b.steal())
                    m["busy"] = b.share(busy0, b.machine_busy())
                    runs[(name, kind)].append(m)
        b.drain(SEAM_PORT)
        written, dropped = b.records(SEAM_PORT)
    finally:
        rnd.stop()
    res = {f"{n}/{k}": summarise(v) for (n, k), v in runs.items()}
    res["records"] = {"written": written, "dropped": dropped}
    return res


def user_sys(pid):
    """The process's user and system CPU so far, in clock ticks (0, 0 for no process)."""
    if not pid:
        return 0, 0
    user, system, _ = capture_cpu.process(pid)
    return user, system


def loop_cpu(pid):
    """The process's main thread's user + system CPU so far, in clock ticks: with one worker,
    the thread that runs the event loop (tokio's current-thread scheduler, nginx's worker,
    the floor's only thread)."""
    if not pid:
        return 0
    _, user, system, _ = capture_cpu.threads(pid)[str(pid)]
    return user + system


def summarise(ms):
    med = lambda f: statistics.median(f(m) for m in ms)
    rps = [m["c16"]["rps"] for m in ms]
    return {
        "rps": statistics.median(rps), "rounds_rps": [round(x) for x in rps],
        "cpu_us": med(lambda m: m["cpu_us"]), "user_us": med(lambda m: m["user_us"]), "sys_us": med(lambda m: m["sys_us"]),
        "loop_us": med(lambda m: m["loop_us"]), "other_us": med(lambda m: m["other_us"]),
        "p50_c16": med(lambda m: m["c16"]["p50"]), "p99_c16": med(lambda m: m["c16"]["p99"]),
        "p50_c1": med(lambda m: m["c1"]["p50"]), "p99_c1": med(lambda m: m["c1"]["p99"]),
        "non2xx": sum(m["c16"]["non2xx"] + m["c1"]["non2xx"] for m in ms),
        "steal": med(lambda m: m["steal"]), "busy": med(lambda m: m["busy"]),
    }


def render(res, secs, rounds):
    rows = []
    for kind, label in (("json", "JSON"), ("sse", "short SSE")):
        d, n, f, s = (res[f"{t}/{kind}"] for t in ("direct", "nginx", "floor", "seam"))
        per_round = ", ".join(f"{100 * y / x:.0f}%" for x, y in zip(n["rounds_rps"], s["rounds_rps"]))
        cpu = lambda r: f"{r['cpu_us']:.1f} ({r['user_us']:.1f} + {r['sys_us']:.1f})"
        lat = lambda r, c: f"{r['p50_' + c]:.3f} / {r['p99_' + c]:.3f}"
        rows += [
            f"| {label}: throughput, 16 connections (req/s) | {d['rps']:.0f} | {n['rps']:.0f} | {f['rps']:.0f} | {s['rps']:.0f} | **{100 * s['rps'] / n['rps']:.0f}%** (per round {per_round}) |",
            f"| {label}: gateway CPU per call, user + system (µs) | - | {cpu(n)} | {cpu(f)} | {cpu(s)} | {s['cpu_us'] / n['cpu_us']:.2f}x (floor {f['cpu_us'] / n['cpu_us']:.2f}x; Seam's own work {s['cpu_us'] - f['cpu_us']:+.1f} µs) |",
            f"| {label}: of which the event loop's thread / other threads (µs) | - | {n['loop_us']:.1f} / {n['other_us']:.1f} | {f['loop_us']:.1f} / {f['other_us']:.1f} | {s['loop_us']:.1f} / {s['other_us']:.1f} | Seam's other threads write its records |",
            f"| {label}: p50 / p99 at 16 connections (ms) | {lat(d, 'c16')} | {lat(n, 'c16')} | {lat(f, 'c16')} | {lat(s, 'c16')} | p99 {s['p99_c16'] / n['p99_c16']:.1f}x |",
            f"| {label}: p50 / p99 at 1 in flight (ms) | {lat(d, 'c1')} | {lat(n, 'c1')} | {lat(f, 'c1')} | {lat(s, 'c1')} | added p50 {1000 * (s['p50_c1'] - n['p50_c1']):+.0f} µs vs nginx |",
        ]
    steal = max(res[k]["steal"] for k in res if "/" in k)
    failed = {k: res[k]["non2xx"] for k in res if "/" in k and res[k]["non2xx"]}
    rec = res["records"]
    lines = [
        "## Gateway-bound round (the headline)",
        "",
        f"Upstream: nginx answering a fixed chat.completion or a fixed short SSE stream (6 events), pinned with wrk to core 1; "
        f"each gateway alone on core 0 with one worker; Seam records every call to SQLite (records written {rec['written']:.0f}, dropped {rec['dropped']:.0f}). "
        "The hyper floor (bench/floor) is a bare proxy on Seam's stack (tokio, the vendored hyper, mimalloc) doing none of Seam's work. "
        f"{rounds} interleaved rounds of {secs} s at 16 connections and 5 s at 1 in flight; medians over rounds. "
        f"Steal during the runs (median per run, highest): {steal:.1%}"
        + (" (**the host took more than 5% of the cores back: CPU per call and throughput here are "
           "not comparable with a quiet run's; repeat the round**)" if steal > 0.05 else "")
        + ". "
        + (f"**Answers other than 2xx: {failed}.**" if failed else "Every answer was a 2xx."),
        "",
        "| measure | direct to upstream | nginx proxy | hyper floor | Seam | Seam vs nginx |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency-secs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = ap.parse_args()
    t0 = time.monotonic()
    res = run(args.secs, args.rounds, args.latency_secs)
    if args.json:
        print(json.dumps(res, indent=1), file=sys.stderr)
    print(render(res, args.secs, args.rounds))
    print(f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
