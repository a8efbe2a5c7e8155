"""Many slow streams held open at once: the gateway's memory per open stream.

Opens N streaming calls (ramped in batches), each a 40-chunk stream the sim sends 250 ms
apart (~10 s), and samples the gateway's RSS and the sim's open-stream count while they run.
"""

import asyncio
import json
import urllib.request

SLOW_SCENARIO = "[stream]\ntokens_per_chunk = 1\ninterval_ms = 250\n"


def sim_open(sim_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{sim_port}/_sim/stats", timeout=5) as r:
        return json.loads(r.read())["streams_open"]


def stream_body(model):
    """A streamed chat request of 40 words (the sim answers it with the scenario's stream)."""
    return json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": " ".join(["word"] * 40)}]})


async def one(port, request):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        tail = b""
        while True:
            piece = await reader.read(65536)
            if not piece:
                break
            tail = (tail + piece)[-64:]
        writer.close()
        return b"[DONE]" in tail
    except OSError:
        return False


async def hold(port, key, n, sim_port, rss_kib):
    body = stream_body("chat").encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    idle = rss_kib()
    tasks = []
    for i in range(0, n, 250):
        tasks += [asyncio.create_task(one(port, head + body)) for _ in range(min(250, n - i))]
        await asyncio.sleep(0.05)
    peak_rss, peak_open = idle, 0
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.25)
        peak_rss = max(peak_rss, rss_kib())
        peak_open = max(peak_open, await asyncio.to_thread(sim_open, sim_port))
    ok = sum(1 for t in tasks if t.result())
    return {
        "streams": n,
        "completed": ok,
        "peak_open_at_sim": peak_open,
        "idle_rss_mib": idle / 1024,
        "peak_rss_mib": peak_rss / 1024,
        "kib_per_stream": (peak_rss - idle) / max(1, peak_open),
    }


def run(port, key, n, sim_port, rss_kib):
    return asyncio.run(hold(port, key, n, sim_port, rss_kib))
