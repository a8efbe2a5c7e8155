"""Retries seen from the OpenAI SDK, and both sides of them in `seam report reliability`."""

import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")


def test_retries_hide_failures_from_the_sdk_and_the_report_shows_both_sides(stack):
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 503\npattern = "x.."\n')
    last = None
    for _ in range(30):
        raw = c.chat.completions.with_raw_response.create(
            model="chat-retry", messages=[{"role": "user", "content": "retry me"}]
        )
        assert raw.parse().choices[0].message.content == "retry me"
        last = raw.headers["x-seam-call-id"]
    stack.call(last)  # the batch writer has flushed
    report = stack.seam("report", "reliability", "--since", "1h", "--json")
    r = next(r for r in report["routes"] if r["route"] == "chat-retry")
    assert r["calls_dispatched"] == 30
    assert r["first_attempt_error_rate"] == pytest.approx(0.5)
    assert r["final_error_rate"] == 0
    assert r["retry_amplification"] == pytest.approx(1.5)
    assert 0 < r["retry_tax"] < 1
    p = r["providers"][0]
    assert p["provider"] == "sim" and p["errors_by_class"] == {"status_5xx": 15}
    text = stack.seam("report", "reliability", "--since", "1h")
    assert "pre-retry" in text and "post-retry" in text


def test_changes_lists_events_as_json(stack):
    events = stack.seam("changes", "--since", "1h", "--json")
    assert isinstance(events, list)
    for e in events:
        assert {"kind", "created_ms", "message", "details"} <= e.keys()


def test_a_trace_reads_back_as_a_tree_and_in_the_usage_report(stack):
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 503\npattern = "x.."\n')
    last = None
    for step in range(4):
        raw = c.chat.completions.with_raw_response.create(
            model="chat-retry",
            messages=[{"role": "user", "content": f"step {step}"}],
            extra_headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        )
        last = raw.headers["x-seam-call-id"]
    stack.call(last)
    tree = stack.seam("traces", "show", "0af7651916cd43dd8448eb211c80319c", "--json")
    assert len(tree["calls"]) == 4
    assert [len(c["attempts"]) for c in tree["calls"]] == [2, 1, 2, 1]
    text = stack.seam("traces", "show", "0af7651916cd43dd8448eb211c80319c")
    assert "4 calls, 6 attempts" in text and "status_5xx" in text
    usage = stack.seam("report", "usage", "--by", "trace", "--since", "1h", "--json")
    row = next(r for r in usage if r["key"] == "0af7651916cd43dd8448eb211c80319c")
    assert row["calls"] == 4 and row["attempts"] == 6


def test_a_key_limit_refuses_through_the_sdk_with_its_code(stack):
    import time

    import openai

    limited = stack.seam("keys", "create", "--tenant", "e2e-limited", "--key-limit", "requests_per_minute=2", "--json")
    assert limited["limits"] == {"requests_per_minute": 2.0}
    c = OpenAI(base_url=stack.base_url, api_key=limited["key"], max_retries=0, timeout=10)
    deadline = time.monotonic() + 5  # the gateway picks new keys up within a second
    while True:
        try:
            c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "one"}])
            break
        except openai.AuthenticationError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "two"}])
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "three"}])
    assert e.value.code == "key_request_limit"
    assert "Seam limit" in e.value.message
    assert int(e.value.response.headers["retry-after"]) >= 1
