"""The soak's moving parts: a TCP proxy that can reset a store's connections, a Redis of the
soak's own that can be restarted, the load generator, and process readings. Talks only to
127.0.0.1."""

import asyncio
import http.client
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections import Counter

import bench


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    bench.wait_port(port, timeout)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def _abort(writer):
    """Closes with a TCP reset, as a crashed or failed-over server does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class ResetProxy:
    """Forwards 127.0.0.1:port to an upstream port while up; while down, resets every open
    connection and each new one (a store outage without stopping the real server)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.down = False
        self.pairs = set()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop).result(10)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, reader, writer):
        if self.down:
            _abort(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _abort(writer)
            return
        pair = (writer, up_writer)
        self.pairs.add(pair)

        async def pipe(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                if not dst.transport.is_closing():
                    dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.pairs.discard(pair)

    def set_down(self, down):
        def apply():
            self.down = down
            if down:
                for a, b in list(self.pairs):
                    _abort(a)
                    _abort(b)
                self.pairs.clear()
        self.loop.call_soon_threadsafe(apply)


class OwnRedis:
    """A redis-server of the soak's own on another port (never the machine's 6379), so that
    it can be stopped and started again. Nothing is persisted: a restart empties it."""

    def __init__(self, tmp):
        if not shutil.which("redis-server"):
            raise RuntimeError("the soak needs redis-server (Debian package redis-server)")
        self.tmp, self.port, self.proc = tmp, free_port(), None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=open(self.tmp / "redis.log", "a"), stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Load:
    """Worker threads sending a mix of calls at about `rate` per second in all. Every answer
    that carries `x-seam-call-id` is acknowledged: the gateway owes a record for it."""

    KINDS = [("chat", 45), ("stream", 25), ("prompt", 10), ("embed", 5), ("limited", 15)]

    def __init__(self, port, keys, rate, workers=12):
        self.port, self.keys, self.rate, self.workers = port, keys, rate, workers
        self.acked = set()
        self.counts = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.disconnect_p = 0.05
        self.threads = []

    def start(self):
        for i in range(self.workers):
            t = threading.Thread(target=self._worker, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        return sum(t.is_alive() for t in self.threads)

    def snapshot(self):
        with self.lock:
            return Counter(self.counts)

    def _note(self, kind, status, call_id):
        with self.lock:
            if call_id:
                self.acked.add(call_id)
            self.counts[f"{kind}:{status}"] += 1
            self.counts["all"] += 1

    def _request(self, kind, rng, n):
        words = " ".join(rng.choice(["refund", "invoice", "plan", "annual", "billing", "card"]) for _ in range(rng.randint(3, 30)))
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.keys['soak']}"}
        path = "/v1/chat/completions"
        if kind == "embed":
            path, body = "/v1/embeddings", {"model": "embed", "input": [words]}
        elif kind == "prompt":
            body = {"model": "prompt:soak-bot", "seam_variables": {"customer": f"c{n % 50}"},
                    "messages": [{"role": "user", "content": words}], "max_tokens": 64}
            headers["x-seam-session"] = f"soak-session-{rng.randint(0, 19)}"
        elif kind == "limited":
            body = {"model": "chat", "messages": [{"role": "user", "content": words}], "max_tokens": 16}
            headers["Authorization"] = f"Bearer {self.keys['soak-limited']}"
        else:
            body = {"model": "chat", "messages": [{"role": "user", "content": words}], "max_tokens": 64}
            if kind == "stream":
                body["stream"] = True
        return path, json.dumps(body), headers

    def _worker(self, i):
        rng = random.Random(i)
        kinds = [k for k, w in self.KINDS for _ in range(w)]
        interval = self.workers / self.rate
        next_at = time.monotonic() + rng.random() * interval
        conn, n = None, 0
        while not self.stop.is_set():
            now = time.monotonic()
            if next_at > now:
                time.sleep(min(next_at - now, 0.5))
                continue
            # Behind schedule (slow streams, an outage): no burst to catch up.
            next_at = max(next_at + interval, now - 1.0)
            n += 1
            kind = rng.choice(kinds)
            path, body, headers = self._request(kind, rng, n)
            leave = kind == "stream" and rng.random() < self.disconnect_p
            call_id = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("POST", path, body, headers)
                r = conn.getresponse()
                call_id = r.getheader("x-seam-call-id")
                if leave and r.status == 200:
                    r.read1(256)  # the first bytes of the stream, then away
                    conn.close()
                    conn = None
                    self._note(kind, "left", call_id)
                    continue
                r.read()
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
                self._note(kind, r.status, call_id)
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                conn = None
                # Cut after the headers: the call was still acknowledged.
                self._note(kind, type(e).__name__, call_id)
        if conn is not None:
            conn.close()
