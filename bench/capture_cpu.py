"""Where a captured call's CPU goes: the gateway's user and system time per request, by thread,
with capture off and full (bench/capture.py's two routes and request), and what it asked of
the kernel (write syscalls, bytes written, context switches).

Not the benchmark (`bench/run capture` is): a development tool for finding the cost. Each run is
wrk at fixed connections for `--secs`, then the writer's catch-up (drain), both inside the
window: the CPU of the window divided by the run's requests. Threads are grouped by name: `seam`
is the event loop (one worker), `tokio-runtime-w` tokio's blocking pool (content building,
urgent batches), `seam-records` the background record writer, `sqlx-sqlite-w` the store's pool.
    python3 bench/capture_cpu.py [--bin target/release/seam] [--rounds 3] [--secs 8] [--conns 16]
Talks only to 127.0.0.1.
"""

import argparse
import collections
import os
import statistics
import sys
import tempfile
from pathlib import Path

import bench
from bench import ONE_WORKER, SEAM_PORT, SIM_PORT, TICK, Round, drain, wait_port, wrk
from capture import config, script


def threads(pid):
    """{tid: (name, utime, stime, minor faults)}, times in clock ticks."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        out[tid] = (head.split("(", 1)[1], int(fields[11]), int(fields[12]), int(fields[7]))
    return out


def io(pid):
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def switches(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                k, v = line.split(":")
                out[k] = int(v)
    return out


def process(pid):
    """(utime, stime, minor faults) of the whole process, exited threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12]), int(fields[7])


def snapshot(pid):
    return threads(pid), io(pid), switches(pid), process(pid)


def delta(before, after, requests):
    """Per request: µs of user and system time by thread group, and kernel work."""
    (t0, io0, cs0, p0), (t1, io1, cs1, p1) = before, after
    cpu = collections.defaultdict(lambda: [0.0, 0.0])
    faults = 0
    for tid, (name, u, s, f) in t1.items():
        _, u0, s0, f0 = t0.get(tid, (name, 0, 0, 0))
        cpu[name][0] += u - u0
        cpu[name][1] += s - s0
        faults += f - f0
    per = lambda ticks: ticks / TICK * 1e6 / max(1, requests)
    out = {f"{name} {kind}": per(v[i]) for name, v in cpu.items() for i, kind in ((0, "user"), (1, "sys"))}
    out["process user"] = per(p1[0] - p0[0])
    out["process sys"] = per(p1[1] - p0[1])
    out["process minor faults"] = (p1[2] - p0[2]) / max(1, requests)
    out["live threads' minor faults"] = faults / max(1, requests)
    for k in ("syscw", "wchar", "syscr", "rchar", "write_bytes"):
        out[k] = (io1[k] - io0[k]) / max(1, requests)
    for k in cs1:
        out[k] = (cs1[k] - cs0[k]) / max(1, requests)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(bench.SEAM))
    ap.add_argument("--secs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the gateway (repeatable)")
    args = ap.parse_args()
    seam_bin = str(Path(args.bin).resolve())
    bench.SEAM = Path(seam_bin)
    tmp = Path(tempfile.mkdtemp(prefix="seam-capture-cpu-"))
    cfg = tmp / "seam.toml"
    cfg.write_text(config(tmp))
    key = bench.create_key(cfg, "bench")
    scripts = {"off": script(tmp / "off.lua", key, "chat"), "full": script(tmp / "full.lua", key, "chat-capture")}
    rnd = Round(tmp, args.secs)
    runs = {"off": [], "full": []}
    try:
        rnd.start([seam_bin, "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        env = {**ONE_WORKER, **dict(e.split("=", 1) for e in args.env)}
        seam = rnd.start([seam_bin, "serve", "--config", str(cfg)], core=0, env=env, log="seam")
        wait_port(SEAM_PORT)
        for s in scripts.values():
            wrk(SEAM_PORT, args.conns, 2, str(s))
        drain(SEAM_PORT)
        for i in range(args.rounds):
            order = ("off", "full") if i % 2 == 0 else ("full", "off")
            for name in order:
                before = snapshot(seam.pid)
                w = wrk(SEAM_PORT, args.conns, args.secs, str(scripts[name]))
                drain(SEAM_PORT)
                d = delta(before, snapshot(seam.pid), w["requests"])
                d["req/s"] = w["rps"]
                runs[name].append(d)
            print(f"round {i}: off {runs['off'][-1]['req/s']:.0f} full {runs['full'][-1]['req/s']:.0f} req/s",
                  file=sys.stderr)
        db = sum(p.stat().st_size for p in tmp.glob("seam.db*"))
    finally:
        rnd.stop()
    keys = sorted({k for r in runs.values() for d in r for k in d})
    med = {n: {k: statistics.median(d.get(k, 0.0) for d in runs[n]) for k in keys} for n in runs}
    print(f"{args.rounds} rounds of {args.secs} s at {args.conns} connections (+ drain); medians per request;"
          f" gateway env: {' '.join(args.env) or '(none)'}")
    print(f"| measure | capture off | capture full | full - off |")
    print("|---|---|---|---|")
    for k in keys:
        o, f = med["off"][k], med["full"][k]
        if o == 0 and f == 0:
            continue
        print(f"| {k} | {o:.2f} | {f:.2f} | {f - o:+.2f} |")
    print(f"store files at the end: {db / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
