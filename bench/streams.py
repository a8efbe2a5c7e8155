"""The gateway's memory per open stream, alone: a fresh `seam sim` (core 1) and `seam serve`
(core 0, one worker, capture off, as bench/bench.py runs them) for each N, then
many_streams.run with N slow streams (40 chunks 250 ms apart). Prints one JSON line per N
and the slope between the first two Ns (KiB per stream, from peak RSS). Talks only to
127.0.0.1.

  python3 bench/streams.py --streams 0,1000,5000 [--warm 5] [--seam target/release/seam]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import bench
import many_streams


# Ports of its own, so that it can run beside a bench.py round.
bench.SIM_PORT, bench.SEAM_PORT = 18110, 18100


def one(n, seam, warm):
    tmp = Path(tempfile.mkdtemp(prefix="seam-streams-"))
    config = tmp / "seam.toml"
    config.write_text(bench.seam_config(tmp, bench.SEAM_PORT, "local"))
    bench.SEAM = seam
    key = bench.create_key(config, "bench")
    rnd = bench.Round(tmp, 5)
    try:
        rnd.start([str(seam), "sim", "--listen", f"127.0.0.1:{bench.SIM_PORT}"], core=1, env=bench.ONE_WORKER, log="sim")
        bench.wait_port(bench.SIM_PORT)
        gw = rnd.start([str(seam), "serve", "--config", str(config)], core=0, env=bench.ONE_WORKER, log="seam")
        bench.wait_port(bench.SEAM_PORT)
        if warm:
            # The state bench.py measures in: after throughput runs.
            bench.wrk(bench.SEAM_PORT, 16, warm, str(bench.lua(tmp / "post.lua", key)))
        time.sleep(0.5)
        bench.set_scenario(many_streams.SLOW_SCENARIO)
        r = many_streams.run(bench.SEAM_PORT, key, n, bench.SIM_PORT, lambda: bench.rss_kib(gw.pid))
        if n == 0:
            # Nothing to wait for: sample the idle gateway for a moment instead.
            time.sleep(1.0)
            r["peak_rss_mib"] = max(r["peak_rss_mib"], bench.rss_kib(gw.pid) / 1024)
        return r
    finally:
        rnd.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="0,1000,5000")
    ap.add_argument("--warm", type=int, default=0, help="seconds of wrk load before (0: none)")
    ap.add_argument("--seam", default=str(bench.SEAM))
    args = ap.parse_args()
    runs = []
    for n in (int(x) for x in args.streams.split(",")):
        r = one(n, Path(args.seam), args.warm)
        runs.append(r)
        print(json.dumps(r), flush=True)
    if len(runs) >= 2:
        a, b = runs[-2], runs[-1]
        slope = (b["peak_rss_mib"] - a["peak_rss_mib"]) * 1024 / max(1, b["streams"] - a["streams"])
        print(json.dumps({"kib_per_stream_slope": round(slope, 2), "between": [a["streams"], b["streams"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
