"""OpenTelemetry traces: a span per call and per attempt, posted over OTLP HTTP/protobuf and
decoded here with the official OpenTelemetry protobuf definitions (`opentelemetry-proto`)."""

import http.server
import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from openai import OpenAI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from conftest import SEAM, free_port, wait_healthy

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP receiver: keeps every posted request, decoded."""

    def __init__(self):
        self.requests: list[ExportTraceServiceRequest] = []
        self.content_types: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                outer.content_types.append(self.headers["Content-Type"])
                outer.requests.append(req)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Span]:
        return [
            s
            for r in self.requests
            for rs in r.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def attrs(span: Span) -> dict:
    out = {}
    for kv in span.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


def metric(url: str, series: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_calls_and_attempts_become_spans_that_continue_the_callers_trace(tmp_path: Path):
    collector = Collector()
    port = free_port()
    config = tmp_path / "seam.toml"
    config.write_text(
        f"""
[server]
listen = "127.0.0.1:{port}"

[store]
url = "sqlite://seam.db"
flush_interval_ms = 10

[telemetry]
otlp_endpoint = "http://127.0.0.1:{collector.port}"
service_name = "seam-e2e"
export_timeout_ms = 500

[[providers]]
name = "local"
kind = "sim"

[[routes]]
name = "chat"
targets = [{{ provider = "local", model = "sim-large-2026-01" }}]
"""
    )
    made = subprocess.run(
        [SEAM, "keys", "create", "--tenant", "otel", "--json", "--config", str(config)],
        capture_output=True, text=True, timeout=30,
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    gw = subprocess.Popen(
        [SEAM, "serve", "--config", str(config)],
        env={**os.environ, "SEAM_LOG": "warn"},
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz", gw)
        client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="chat",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"traceparent": f"00-{TRACE}-{PARENT}-01"},
        )
        call_id = raw.headers["x-seam-call-id"]
        answer = raw.parse()
        deadline = time.monotonic() + 10
        while len(collector.spans()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        spans = collector.spans()
        assert len(spans) == 2, spans
        assert set(collector.content_types) == {"application/x-protobuf"}
        resource = {kv.key: kv.value.string_value for kv in collector.requests[0].resource_spans[0].resource.attributes}
        assert resource["service.name"] == "seam-e2e"

        call = next(s for s in spans if s.kind == Span.SPAN_KIND_SERVER)
        attempt = next(s for s in spans if s.kind == Span.SPAN_KIND_CLIENT)
        assert call.trace_id.hex() == TRACE and attempt.trace_id.hex() == TRACE
        assert call.parent_span_id.hex() == PARENT
        assert attempt.parent_span_id == call.span_id
        a = attrs(call)
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] == "chat"
        assert a["gen_ai.response.model"] == answer.model
        assert a["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
        assert a["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
        assert a["gen_ai.provider.name"] == "sim"
        assert a["seam.call_id"] == call_id
        assert a["http.response.status_code"] == 200
        assert call.name == "chat chat"
        assert call.end_time_unix_nano > call.start_time_unix_nano > 0
        b = attrs(attempt)
        assert b["gen_ai.request.model"] == "sim-large-2026-01"
        assert b["seam.attempt"] == 1
        assert attempt.start_time_unix_nano >= call.start_time_unix_nano
        assert metric(base, 'seam_otlp_spans_total{reason="exported"}') == 2

        # The collector goes away: calls are as fast and as successful, the spans are counted.
        collector.stop()
        started = time.monotonic()
        for _ in range(5):
            client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 10
        while metric(base, 'seam_otlp_spans_total{reason="dropped_export_failed"}') < 10:
            assert time.monotonic() < deadline, "the failed export was not counted"
            time.sleep(0.1)
    finally:
        gw.terminate()
        gw.wait(timeout=15)
        collector.server.server_close()
