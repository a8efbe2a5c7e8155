"""How long a gateway takes from reading a client's request to writing the upstream request,
with requests back to back and after the gateway's core has been idle (a development probe,
not the benchmark: bench/run is).

On the bench VM a core that has been idle runs a gateway's code about three times slower,
which is what widens the one-in-flight p99 beyond the p50 gap; this prints that effect for
nginx and Seam side by side, timed from the gateway's own syscalls by `perf trace` (which
adds a few µs to each). Same pinning as the benchmark: the gateway on core 0, the sim and
the client on core 1. Talks only to 127.0.0.1.

    python3 bench/coldpath.py [--requests 40] [--idle-ms 0,10,50]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import BODY, NGINX_PORT, SEAM_PORT, Round, create_key, seam_config, start_targets

# With one traced process, perf trace leaves out the comm/pid column.
RECV = re.compile(r"^\s*([\d.]+) \(.*?\): (?:\S+ )?recvfrom\(.*\)\s+= (\d+)")
WRITEV = re.compile(r"^\s*([\d.]+) \(.*?\): (?:\S+ )?writev\(")


def request_bytes(key):
    """The benchmark's request, whole: its length picks the request's read out of the trace."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(BODY)}\r\n\r\n")
    return (head + BODY).encode()


def read_response(sock):
    """Reads one response with a Content-Length body (both gateways send one here)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < length:
        rest += sock.recv(65536)


def probe(pid, port, req, n, idle_ms):
    """Median and spread of recv(request) -> writev(upstream) in µs over n requests."""
    out = Path(tempfile.mkstemp(prefix="coldpath-", suffix=".txt")[1])
    tracer = subprocess.Popen(["perf", "trace", "-p", str(pid), "-e", "recvfrom,writev", "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            s.sendall(req)
            read_response(s)
            time.sleep(idle_ms / 1000)
    time.sleep(0.3)
    tracer.send_signal(signal.SIGINT)  # perf writes out what it traced on SIGINT
    tracer.wait(timeout=10)
    text = out.read_text(errors="replace")
    out.unlink()
    gaps, start = [], None
    for line in text.splitlines():
        if (m := RECV.match(line)) and int(m.group(2)) == len(req):
            start = float(m.group(1))
        elif start is not None and (w := WRITEV.match(line)):
            gaps.append((float(w.group(1)) - start) * 1000)
            start = None
    if len(gaps) < n // 2:
        raise RuntimeError(f"perf trace saw {len(gaps)} of {n} requests; its output began:\n" + text[:600])
    gaps.sort()
    return statistics.median(gaps), gaps[len(gaps) // 10], gaps[-1 - len(gaps) // 10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--idle-ms", default="0,10,50", help="pauses between requests, comma-separated")
    args = ap.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("needs perf: apt-get install linux-perf")
    os.sched_setaffinity(0, {1})
    tmp = Path(tempfile.mkdtemp(prefix="seam-coldpath-"))
    config = tmp / "seam.toml"
    config.write_text(seam_config(tmp, SEAM_PORT, "local"))
    req = request_bytes(create_key(config, "bench"))
    rnd = Round(tmp, 0)
    try:
        seam, ngx_worker = start_targets(rnd, tmp, config)
        print("request read -> upstream request written, µs (perf trace): median [10th-90th percentile]")
        for idle in (float(x) for x in args.idle_ms.split(",")):
            row = []
            for name, pid, port in (("nginx", ngx_worker, NGINX_PORT), ("seam", seam.pid, SEAM_PORT)):
                med, lo, hi = probe(pid, port, req, args.requests, idle)
                row.append(f"{name} {med:.0f} [{lo:.0f}-{hi:.0f}]")
            print(f"idle {idle:g} ms between requests: " + ", ".join(row))
    finally:
        rnd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
