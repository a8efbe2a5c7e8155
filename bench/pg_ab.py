"""Recording to PostgreSQL against SQLite, for one or more Seam builds in one run (a development
probe for changes to the record writers, not the benchmark: bench/run is).

Each variant NAME=BINARY gets two gateways, one recording to SQLite and one to PostgreSQL (a
schema of its own in $SEAM_TEST_POSTGRES's database, dropped at the end), pinned to core 0 with
the sim and wrk on core 1, as bench/bench.py runs them; PostgreSQL is not pinned. Each round
loads every gateway in turn at 16 connections and prints its throughput, the gateway's CPU per
call and the CPU every `postgres` process spent per call (the server's cost of the records:
the figure that shows a change to how rows are written, while throughput moves with the
host). At the end: per variant, the median over rounds of PostgreSQL's throughput as a share of
SQLite's in the same round, of PostgreSQL's CPU per call, and the records written and dropped.
Talks only to 127.0.0.1.

    python3 bench/pg_ab.py [--rounds 3] [--secs 8] NAME=BINARY ...
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench
from bench import SIM_PORT, TICK, ONE_WORKER, Round, cpu_ticks, create_key, drop_pg_schema, lua, pg_schema, records, seam_config, wait_port, wrk


def postgres_ticks():
    """CPU ticks of every process named postgres (the server's backends and helpers)."""
    total = 0
    for pid in subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split():
        try:
            total += cpu_ticks(int(pid))
        except OSError:
            pass  # a backend that ended meanwhile
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=8)
    ap.add_argument("variants", nargs="+", help="NAME=BINARY")
    args = ap.parse_args()
    os.sched_setaffinity(0, {1})
    tmp = Path(tempfile.mkdtemp(prefix="seam-pg-ab-"))
    rnd = Round(tmp, args.secs)
    schemas = []
    gateways = []  # (variant, backend, process, port, script)
    try:
        first = args.variants[0].split("=", 1)[1]
        rnd.start([first, "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=ONE_WORKER, log="sim")
        wait_port(SIM_PORT)
        for i, v in enumerate(args.variants):
            name, binary = v.split("=", 1)
            bench.SEAM = Path(binary)
            schema = f"seam_pg_ab_{os.getpid()}_{i}"
            url = pg_schema(schema)
            schemas.append(schema)
            for j, (backend, store) in enumerate((("sqlite", ""), ("postgres", url))):
                port = 18200 + 2 * i + j
                d = tmp / f"{name}-{backend}"
                d.mkdir()
                config = d / "seam.toml"
                config.write_text(seam_config(d, port, "local", store=store))
                subprocess.run([binary, "migrate", "--config", str(config)], check=True, capture_output=True)
                script = lua(d / "post.lua", create_key(config, "bench"))
                p = rnd.start([binary, "serve", "--config", str(config)], core=0, env=ONE_WORKER, log=f"{name}-{backend}")
                wait_port(port)
                wrk(port, 16, 2, str(script))
                gateways.append((name, backend, p, port, script))
        rows = {}
        for r in range(args.rounds):
            for name, backend, p, port, script in gateways:
                c0, g0 = cpu_ticks(p.pid), postgres_ticks()
                w = wrk(port, 16, args.secs, str(script))
                n = max(1, w["requests"])
                row = {"round": r, "variant": name, "backend": backend, "rps": round(w["rps"]),
                       "gateway_us": round((cpu_ticks(p.pid) - c0) / TICK * 1e6 / n, 1),
                       "postgres_us": round((postgres_ticks() - g0) / TICK * 1e6 / n, 1), "p99_ms": w["p99"]}
                rows[(r, name, backend)] = row
                print(json.dumps(row), flush=True)
                time.sleep(1.0)  # the writer's last flush, off the next run's clock
        for name in dict.fromkeys(g[0] for g in gateways):
            share = [rows[(r, name, "postgres")]["rps"] / rows[(r, name, "sqlite")]["rps"] for r in range(args.rounds)]
            cpu = [rows[(r, name, "postgres")]["postgres_us"] for r in range(args.rounds)]
            written = {b: records(port) for v, b, _, port, _ in gateways if v == name}
            print(f"{name}: PostgreSQL {100 * statistics.median(share):.0f}% of SQLite's throughput "
                  f"(per round {', '.join(f'{100 * s:.0f}%' for s in share)}); PostgreSQL CPU per call "
                  f"{statistics.median(cpu):.1f} µs (per round {', '.join(map(str, cpu))}); "
                  f"records written/dropped: SQLite {written['sqlite'][0]:.0f}/{written['sqlite'][1]:.0f}, "
                  f"PostgreSQL {written['postgres'][0]:.0f}/{written['postgres'][1]:.0f}")
    finally:
        rnd.stop()
        for schema in schemas:
            drop_pg_schema(schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
