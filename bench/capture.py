"""The cost of content capture: one gateway, the same load on a route that captures nothing and
on one that keeps every call's content with every redaction pack, in interleaved rounds.

Gateway pinned to core 0 with one worker, the sim and wrk on core 1 (as bench.py). The
request carries an email address, a phone number and a card number, so redaction has work.
Reports each route's median throughput at 16 connections with the rounds' spread, the ratio
within each round, and what the capture counters say (contents kept and dropped).
Writes bench/results/<date>-capture.md (appended to when the day's file exists). Talks only to 127.0.0.1.
"""

import argparse
import datetime
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import (ONE_WORKER, ROOT, SEAM, SIM_PORT, SEAM_PORT, TICK, Round, cpu_ticks, create_key, drain,
                   machine, urllib_get, wait_port, wrk)

TEXT = ("Customer ana.souza@example.com (phone +1 415 555 0199, card 4111 1111 1111 1111) asks: "
        "summarise the refund policy for an annual plan in one line, and say whether a partial "
        "month is refunded.")


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
[[routes]]
name = "chat-capture"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
capture = {{ mode = "full", redact = ["email", "phone", "card", "iban", "ip"] }}
[prices."sim-large-2026-01"]
input = 1.0
output = 4.0
"""


def script(path: Path, key: str, model: str) -> Path:
    body = json.dumps({"model": model, "messages": [{"role": "system", "content": "You are a support agent."},
                                                    {"role": "user", "content": TEXT}]})
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{body}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    )
    return path


def counter(metrics: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:\{{[^}}]*\}})? ([\d.e+]+)", metrics, re.M))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seam-bench-capture-"))
    cfg = tmp / "seam.toml"
    cfg.write_text(config(tmp))
    key = create_key(cfg, "bench")
    scripts = {"off": script(tmp / "off.lua", key, "chat"), "full": script(tmp / "full.lua", key, "chat-capture")}
    rnd = Round(tmp, args.secs)
    runs = {"off": [], "full": []}
    try:
        rnd.start([str(SEAM), "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        seam = rnd.start([str(SEAM), "serve", "--config", str(cfg)], core=0, env=ONE_WORKER, log="seam")
        wait_port(SEAM_PORT)
        for s in scripts.values():
            wrk(SEAM_PORT, 16, 2, str(s))
        drain(SEAM_PORT)
        for i in range(args.rounds):
            # Alternate which goes first, so a drift within a round favours neither.
            order = ("off", "full") if i % 2 == 0 else ("full", "off")
            for name in order:
                c0 = cpu_ticks(seam.pid)
                w = wrk(SEAM_PORT, 16, args.secs, str(scripts[name]))
                w["cpu_us_per_req"] = (cpu_ticks(seam.pid) - c0) / TICK * 1e6 / max(1, w["requests"])
                runs[name].append(w)
                # The writer catches up before the next run, so neither inherits the other's backlog.
                drain(SEAM_PORT)
            print(f"round {i}: off {runs['off'][-1]['rps']:.0f} full {runs['full'][-1]['rps']:.0f} req/s", file=sys.stderr)
        metrics = urllib_get(f"http://127.0.0.1:{SEAM_PORT}/metrics")
    finally:
        rnd.stop()
    kept = counter(metrics, "seam_contents_captured_total")
    dropped = counter(metrics, "seam_contents_dropped_total")
    records_dropped = counter(metrics, "seam_records_dropped_total")
    full_requests = sum(w["requests"] for w in runs["full"])
    ratios = [f["rps"] / o["rps"] for o, f in zip(runs["off"], runs["full"])]
    med = {n: statistics.median(w["rps"] for w in runs[n]) for n in runs}
    cpu = {n: statistics.median(w["cpu_us_per_req"] for w in runs[n]) for n in runs}
    p99 = {n: statistics.median(w["p99"] for w in runs[n]) for n in runs}
    non2xx = {n: sum(w["non2xx"] for w in runs[n]) for n in runs}
    lines = [
        f"# Capture cost, {datetime.date.today()}",
        "",
        f"Machine: {machine()}. One `seam serve` (one worker) pinned to core 0, the sim and wrk on core 1.",
        f"{args.rounds} interleaved rounds of {args.secs} s at 16 connections on two routes of the same gateway:"
        " `chat` (capture off) and `chat-capture` (`mode = \"full\"`, every redaction pack: email, phone, card,"
        " iban, ip; provider keys always). The request (a system and a user turn, ~300 bytes of text) carries an"
        " email address, a phone number and a card number; the sim echoes the user turn, so the answer does too.",
        "",
        "| measure | capture off | capture full, redacted | full vs off |",
        "|---|---|---|---|",
        f"| throughput, 16 connections, median (req/s) | {med['off']:.0f} | {med['full']:.0f} | {med['full'] / med['off']:.0%} |",
        f"| gateway CPU per request, median (µs) | {cpu['off']:.1f} | {cpu['full']:.1f} | +{cpu['full'] - cpu['off']:.1f} µs |",
        f"| p99 latency at 16 connections, median (ms) | {p99['off']:.2f} | {p99['full']:.2f} | |",
        f"| non-2xx responses | {non2xx['off']} | {non2xx['full']} | |",
        "",
        f"Full vs off within each round: {', '.join(f'{r:.0%}' for r in ratios)} (min {min(ratios):.0%}, max {max(ratios):.0%}).",
        f"Throughput per round, off: {', '.join(str(round(w['rps'])) for w in runs['off'])}; full: {', '.join(str(round(w['rps'])) for w in runs['full'])}.",
        "",
        f"Contents kept: {kept:.0f} (requests on the capture route, warm-up included: at least {full_requests});"
        f" contents dropped: {dropped:.0f}; call records dropped: {records_dropped:.0f}.",
        "",
    ]
    report = "\n".join(lines)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{datetime.date.today()}-capture.md"
    # A day's file keeps every run of that day: a new run is appended, never written over.
    if out.exists() and out.read_text().strip():
        with out.open("a") as f:
            f.write("\n## Run at " + datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M UTC") + "\n\n")
            f.write(report.split("\n", 2)[2])
    else:
        out.write_text(report)
    print(report)
    print(f"written to {out}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
