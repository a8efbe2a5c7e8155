"""What an eval run costs over the calls it makes, and how long the gate takes.

1. The same 1,000 calls, in interleaved rounds, sent two ways through one gateway at 32 in
   flight: by wrk (a Lua script cycling through the dataset's bodies; wrk runs for a duration,
   so its time for 1,000 calls is 1,000 over its steady rate, which leaves out the ramp-up and
   the tail an eval run has), and by `seam eval run` (whole process: open the store, load the dataset,
   call, grade each answer with three deterministic graders, store each result). The ratio is
   eval wall time over wrk wall time. The sim answers after a fixed latency (`--latency-ms`,
   default 50: far quicker than any hosted model, so the eval runner's own work shows); a
   second row at 2 ms shows that work in absolute terms per case.
2. The gate: two stored runs of 10,000 cases each (made by `seam eval run` against the sim
   with no latency), compared by `seam eval gate` (10,000 bootstrap resamples, seeded), wall
   time of the whole command, median of rounds.

Gateway pinned to core 0 with one worker, the sim, wrk and the eval CLI on core 1. Talks only
to 127.0.0.1. Writes bench/results/<date>-evals.md.
"""

import argparse
import datetime
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import ONE_WORKER, ROOT, SEAM, SEAM_PORT, SIM_PORT, Round, create_key, drain, machine, wait_port

CALLS = 1000
CONNS = 32
GATE_CASES = 10_000


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
[evals]
dir = "evals"
"""


def message(i: int) -> str:
    return f"Why is invoice {i} higher than last month, in dollars?"


def dataset(path: Path, n: int):
    """n cases, each graded by three deterministic graders; every 10th fails one of them."""
    with path.open("w") as f:
        for i in range(n):
            want = "euros" if i % 10 == 3 else "dollars"
            case = {
                "id": f"case-{i:05d}",
                "input": {"messages": [{"role": "user", "content": message(i)}]},
                "assert": [
                    {"type": "icontains", "value": want},
                    {"type": "regex", "value": r"invoice \d+"},
                    {"type": "length", "max": 400},
                ],
            }
            f.write(json.dumps(case) + "\n")


def lua(path: Path, key: str) -> Path:
    """wrk: POST the dataset's bodies in turn."""
    bodies = ",\n".join(
        "[[" + json.dumps({"model": "chat", "messages": [{"role": "user", "content": message(i)}]}) + "]]"
        for i in range(CALLS)
    )
    path.write_text(
        f"local bodies = {{\n{bodies}\n}}\n"
        "local sent = 0\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        "request = function()\n"
        "  sent = sent + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[(sent - 1) % #bodies + 1])\n"
        "end\n"
    )
    return path


def set_latency(ms: int):
    req = urllib.request.Request(f"http://127.0.0.1:{SIM_PORT}/_sim/scenario", method="PUT",
                                 data=f"[latency]\nfixed_ms = {ms}\n".encode())
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def straight(script: Path, secs: int) -> float:
    """Seconds CALLS calls take at wrk's steady rate over `secs` s (wrk runs for a duration, not
    a count: its rate, not a count's wall time, is what it can give)."""
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNS}", f"-d{secs}s", "-s", str(script),
         f"http://127.0.0.1:{SEAM_PORT}/v1/chat/completions"],
        capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.exit(f"wrk failed: {out.stdout[-1500:]} {out.stderr[-1500:]}")
    return CALLS / float(m.group(1))


def eval_run(cfg: Path, key: str, name: str, env) -> tuple[float, str]:
    """Wall seconds of one `seam eval run` (the whole process) and the run's id."""
    t0 = time.monotonic()
    out = subprocess.run(
        ["taskset", "-c", "1", str(SEAM), "eval", "run", name, "--route", "chat", "--concurrency", str(CONNS),
         "--gateway", f"http://127.0.0.1:{SEAM_PORT}", "--json", "--config", str(cfg)],
        capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if out.returncode != 0:
        sys.exit(f"seam eval run failed: {out.stderr[-2000:]}")
    return wall, json.loads(out.stdout)["id"]


def gate(cfg: Path, cand: str, base: str, env) -> float:
    t0 = time.monotonic()
    out = subprocess.run(["taskset", "-c", "1", str(SEAM), "eval", "gate", cand, "--baseline", base, "--json",
                          "--config", str(cfg)], capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if out.returncode not in (0, 1, 3):
        sys.exit(f"seam eval gate failed: {out.stderr[-2000:]}")
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--secs", type=int, default=5, help="each wrk run's duration")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/evals.py needs wrk (bench/run installs it)")
    tmp = Path(tempfile.mkdtemp(prefix="seam-bench-evals-"))
    cfg = tmp / "seam.toml"
    cfg.write_text(config(tmp))
    (tmp / "evals").mkdir()
    dataset(tmp / "evals" / "bench.jsonl", CALLS)
    dataset(tmp / "evals" / "gate.jsonl", GATE_CASES)
    key = create_key(cfg, "bench")
    env = {**__import__("os").environ, "SEAM_KEY": key, "SEAM_LOG": "warn"}
    script = lua(tmp / "calls.lua", key)
    rnd = Round(tmp, 0)
    rows = {}
    try:
        rnd.start([str(SEAM), "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        rnd.start([str(SEAM), "serve", "--config", str(cfg)], core=0, env=ONE_WORKER, log="seam")
        wait_port(SEAM_PORT)
        for latency in (args.latency_ms, 2):
            set_latency(latency)
            straight(script, 2)  # warm-up
            runs = {"straight": [], "eval": []}
            for i in range(args.rounds):
                order = ("straight", "eval") if i % 2 == 0 else ("eval", "straight")
                for way in order:
                    secs = straight(script, args.secs) if way == "straight" else eval_run(cfg, key, "bench", env)[0]
                    runs[way].append(secs)
                    drain(SEAM_PORT)
                print(f"latency {latency} ms, round {i}: straight {runs['straight'][-1]:.3f} s, "
                      f"eval {runs['eval'][-1]:.3f} s", file=sys.stderr)
            rows[latency] = runs
        set_latency(0)
        _, base = eval_run(cfg, key, "gate", env)
        _, cand = eval_run(cfg, key, "gate", env)
        gates = [gate(cfg, cand, base, env) for _ in range(args.rounds)]
    finally:
        rnd.stop()

    lines = [
        f"# Eval run and gate cost, {datetime.date.today()}",
        "",
        f"Machine: {machine()}. One `seam serve` (one worker) pinned to core 0; the sim, wrk and"
        " `seam eval run` on core 1. Release build.",
        "",
        f"{CALLS} calls at {CONNS} in flight through the gateway to route `chat`, {args.rounds} interleaved"
        f" rounds per latency: sent straight by wrk ({CALLS} over its steady rate in a {args.secs} s run,"
        " which leaves out the ramp-up and tail an eval run pays), and as `seam eval run` of a {CALLS}-case dataset, each case graded by three"
        " deterministic graders (`icontains`, `regex`, `length`), each result stored in SQLite (the whole"
        " process's wall time: start, store, dataset, calls, grading, storing).",
        "",
        "| sim latency | straight, median (s) | eval run, median (s) | eval / straight, median | per round | target |",
        "|---|---|---|---|---|---|",
    ]
    for latency, runs in rows.items():
        ratios = [e / s for s, e in zip(runs["straight"], runs["eval"])]
        lines.append(
            f"| {latency} ms | {statistics.median(runs['straight']):.3f} | {statistics.median(runs['eval']):.3f}"
            f" | {statistics.median(ratios):.2f} | {', '.join(f'{r:.2f}' for r in ratios)}"
            f" | {'<= 1.2' if latency == args.latency_ms else 'shown for the absolute cost'} |")
    lines += [
        "",
        f"Per case, at 2 ms: the eval run spends"
        f" {(statistics.median(rows[2]['eval']) - statistics.median(rows[2]['straight'])) / CALLS * 1e3:.2f} ms"
        " more than wrk (median walls' difference over the calls; includes the process's start).",
        "",
        f"The gate: `seam eval gate` on two runs of {GATE_CASES:,} cases each (10,000 bootstrap resamples),"
        f" whole command, {args.rounds} rounds: median {statistics.median(gates):.3f} s"
        f" (min {min(gates):.3f}, max {max(gates):.3f}); target < 2 s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{datetime.date.today()}-evals.md"
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
