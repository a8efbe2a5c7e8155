"""Streams as clients see them: re-chunked deltas through the openai SDK, and `seam report streams`."""

import time

TEXT = "the quick brown fox jumps over the lazy dog and runs far away into the deep dark woods"


def test_rechunked_stream_keeps_the_text_and_is_reported(stack, default_scenario):
    from openai import OpenAI

    stack.set_scenario('[model]\nserved = "sim-large-2026-01"\n[stream]\ntokens_per_chunk = 1\ninterval_ms = 3\n')
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    deltas = []
    for chunk in c.chat.completions.create(
        model="smooth", messages=[{"role": "user", "content": TEXT}], stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(deltas) == TEXT, "the text is exactly what the provider sent"
    assert all(len(d) >= 12 for d in deltas[:-1]), deltas
    assert usage.completion_tokens == len(TEXT.split())

    deadline = time.monotonic() + 5  # the batch writer flushes on a short tick
    while True:
        report = stack.seam("report", "streams", "--since", "1h", "--json")
        smooth = [g for g in report["groups"] if g["route"] == "smooth"]
        if smooth or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert smooth and smooth[0]["streams"] >= 1
    assert smooth[0]["slo_attainment"] == 1.0, smooth[0]
    assert smooth[0]["chars_per_chunk_p50"] >= 12
