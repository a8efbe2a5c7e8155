"""One-in-flight latency of several Seam builds (or configs) against nginx, in one run (a
development probe for changes to the request path, not the benchmark: bench/run is).

Each round runs wrk with one connection against the sim directly, nginx, and every Seam
variant in turn, pinned as the benchmark pins them; it prints each variant's added p50 and
p99 and its p99 minus nginx's in the same round, with the median over rounds and a 95%
bootstrap interval. A variant is NAME=BINARY, optionally with extra config after commas:
TOML lines for [store] (e.g. `held=target/release/seam,flush_interval_ms=600000`), and from a
table header on, lines appended as that table (e.g.
`ack=target/release/seam,[records],durability="acknowledged"`). Every variant after the first
also gets its throughput as a share of the first's, per round (median and 95% interval). The
nginx of the run takes OTLP posts at http://127.0.0.1:18020/v1/traces, e.g.
`otlp=target/release/seam,[telemetry],otlp_endpoint="http://127.0.0.1:18020"`.
Talks only to 127.0.0.1.

    python3 bench/ab.py [--rounds 15] [--secs 5] [--fill 10] NAME=BINARY[,store-line] ...
"""

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import bench
from bench import NGINX_PORT, SIM_PORT, Round, lua, median_ci, nginx_conf, seam_config, wait_port, wrk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--connections", type=int, default=1,
                    help="connections of the measured rounds (1: one request in flight)")
    ap.add_argument("--fill", type=int, default=10,
                    help="seconds of 16-connection load on each variant first (the benchmark's latency rounds meet a store already holding millions of records)")
    ap.add_argument("variants", nargs="+", help="NAME=BINARY[,store-line]")
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    tmp = Path(tempfile.mkdtemp(prefix="seam-ab-"))
    rnd = Round(tmp, args.secs)
    try:
        sim_bin = args.variants[0].split("=", 1)[1].split(",")[0]
        rnd.start([sim_bin, "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=bench.ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        rnd.start(["nginx", "-c", str(nginx_conf(tmp))], core=0, log="nginx")
        wait_port(NGINX_PORT)
        scripts = {}
        for i, v in enumerate(args.variants):
            name, spec = v.split("=", 1)
            binary, *extra = spec.split(",")
            port = 18100 + i
            d = tmp / name
            d.mkdir()
            text = seam_config(d, port, "local")
            table = next((j for j, line in enumerate(extra) if line.startswith("[")), len(extra))
            if extra[:table]:
                text = text.replace("[store]\n", "[store]\n" + "\n".join(extra[:table]) + "\n", 1)
            if extra[table:]:
                header, lines = extra[table], "\n".join(extra[table + 1:])
                if f"\n{header}\n" in text:  # a table the config has: add to it
                    text = text.replace(f"\n{header}\n", f"\n{header}\n{lines}\n", 1)
                else:
                    text += f"{header}\n{lines}\n"
            config = d / "seam.toml"
            config.write_text(text)
            bench.SEAM = Path(binary).resolve()
            script = lua(d / "post.lua", bench.create_key(config, "bench"))
            rnd.start([str(bench.SEAM), "serve", "--config", str(config)], core=0, env=bench.ONE_WORKER, log=f"seam-{name}")
            wait_port(port)
            scripts[name] = (port, script)
        # The sim and nginx do not check keys: any variant's script will do for them.
        scripts = {"direct": (SIM_PORT, script), "nginx": (NGINX_PORT, script), **scripts}
        for name, (port, s) in scripts.items():
            wrk(port, 16, args.fill if name not in ("direct", "nginx") else 2, str(s))
        p50 = {k: [] for k in scripts}
        p99 = {k: [] for k in scripts}
        rps = {k: [] for k in scripts}
        for i in range(args.rounds):
            for name, (port, s) in scripts.items():
                w = wrk(port, args.connections, args.secs, str(s))
                rps[name].append(w.get("rps", 0.0))
                p50[name].append(w["p50"] * 1000)
                p99[name].append(w["p99"] * 1000)
            print(f"round {i + 1}: added p99 (µs) " + ", ".join(
                f"{k} {p99[k][-1] - p99['direct'][-1]:.0f}" for k in scripts if k != "direct"), flush=True)
        print()
        for name in scripts:
            if name == "direct":
                continue
            a50 = [a - b for a, b in zip(p50[name], p50["direct"])]
            a99 = [a - b for a, b in zip(p99[name], p99["direct"])]
            line = (f"{name}: {statistics.median(rps[name]):,.0f} req/s, added p50 {statistics.median(a50):.0f} µs, "
                    f"added p99 {statistics.median(a99):.0f} µs")
            if name != "nginx":
                n99 = [a - b for a, b in zip(p99["nginx"], p99["direct"])]
                diff = [a - b for a, b in zip(a99, n99)]
                lo, hi = median_ci(diff)
                line += f"; minus nginx's in the same round: median {statistics.median(diff):+.0f} µs (95% interval {lo:+.0f} to {hi:+.0f})"
            print(line)
        names = [v.split("=", 1)[0] for v in args.variants]
        for name in names[1:]:
            share = [100 * b / a for a, b in zip(rps[names[0]], rps[name]) if a > 0]
            if share:
                lo, hi = median_ci(share)
                print(f"{name} throughput as a share of {names[0]}'s, per round: median {statistics.median(share):.1f}% "
                      f"(95% interval {lo:.1f}% to {hi:.1f}%)")
    finally:
        rnd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
