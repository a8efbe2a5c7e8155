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
import json
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

from bench import NGINX_PORT, SEAM, SEAM_PORT, SIM_PORT, Round, nginx_conf, seam_config, wait_port

# With one traced process, perf trace leaves out the comm/pid column.
RECV = re.compile(r"^\s*([\d.]+) \(.*?\): (?:\S+ )?recvfrom\(.*\)\s+= (\d+)")
WRITEV = re.compile(r"^\s*([\d.]+) \(.*?\): (?:\S+ )?writev\(")


def request_bytes(key):
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "Summarise the refund policy for an annual plan in one line."}]})
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n")
    return (head + body).encode()


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
    gaps, start = [], None
    for line in out.read_text(errors="replace").splitlines():
        m = RECV.match(line)
        if m and int(m.group(2)) == len(req):
            start = float(m.group(1))
        elif start is not None and WRITEV.match(line):
            gaps.append((float(WRITEV.match(line).group(1)) - start) * 1000)
            start = None
    text = out.read_text(errors="replace")
    out.unlink()
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
    key = json.loads(subprocess.run([str(SEAM), "keys", "create", "--tenant", "bench", "--json", "--config", str(config)],
                                    capture_output=True, text=True, check=True).stdout)["key"]
    req = request_bytes(key)
    env = {"TOKIO_WORKER_THREADS": "1", "SEAM_LOG": "warn"}
    rnd = Round(tmp, 0)
    try:
        rnd.start([str(SEAM), "sim", "--listen", f"127.0.0.1:{SIM_PORT}"], core=1, env=env, log="sim")
        wait_port(SIM_PORT)
        ngx = rnd.start(["nginx", "-c", str(nginx_conf(tmp))], core=0, log="nginx")
        seam = rnd.start([str(SEAM), "serve", "--config", str(config)], core=0, env=env, log="seam")
        wait_port(NGINX_PORT)
        wait_port(SEAM_PORT)
        ngx_worker = int(subprocess.run(["pgrep", "-P", str(ngx.pid)], capture_output=True, text=True).stdout.split()[0])
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
