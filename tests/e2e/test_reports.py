"""Reports that stay true (issue 20, item 7), read back through the CLI of a real `seam serve`:
calls without a price are flagged and warned about, `seam calls` filters in the store,
`seam traces` lists recent traces, and calls to unknown models stay out of the per-route
reliability report."""

import subprocess
import time
import uuid

import openai
import pytest
from openai import OpenAI

from conftest import SEAM

pytestmark = pytest.mark.usefixtures("default_scenario")

HELLO = [{"role": "user", "content": "hello"}]
UNPRICED = "models without a price"


def client(stack):
    return OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)


def warnings(stack):
    return [line for line in (stack.tmp / "serve.log").read_text().splitlines() if UNPRICED in line]


def seam_fails(stack, *args):
    out = subprocess.run(
        [SEAM, *args, "--config", str(stack.config)], env=stack.env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode != 0, out.stdout
    return out.stderr


def test_unpriced_models_are_warned_about_at_start_and_on_reload(stack):
    at_start = warnings(stack)
    assert at_start, "warned at start"
    # The models routes target without a [prices] entry, once each; a priced one is not listed.
    assert "claude-sim-1, sim-embed-1" in at_start[0], at_start[0]
    assert "sim-large-2026-01" not in at_start[0]
    stack.seam("reload", "--json")
    deadline = time.monotonic() + 5
    while len(warnings(stack)) == len(at_start) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(warnings(stack)) == len(at_start) + 1, "once per reload"


def test_a_call_without_a_price_is_flagged_unpriced_wherever_it_is_shown(stack):
    c = client(stack)
    priced = c.chat.completions.with_raw_response.create(model="chat", messages=HELLO)
    priced.parse()
    # Neither the model asked for (claude-sim-1) nor the one served has a price.
    stack.set_scenario('[model]\nserved = "claude-sim-1"\n')
    raw = c.chat.completions.with_raw_response.create(model="claude", messages=HELLO)
    raw.parse()
    call_id = raw.headers["x-seam-call-id"]
    shown = stack.call(call_id)
    assert shown["call"]["unpriced"] is True and shown["call"]["cost_usd"] == 0
    assert shown["call"]["input_tokens"] > 0
    assert [a["unpriced"] for a in shown["attempts"]] == [True]
    assert stack.call(priced.headers["x-seam-call-id"])["call"]["unpriced"] is False
    text = stack.seam("calls", "show", call_id)
    assert "unpriced: incomplete" in text and "+unpriced" in text

    listed = stack.seam("calls", "--route", "claude", "--json")
    assert any(x["id"] == call_id and x["unpriced"] for x in listed)
    table = stack.seam("calls", "--route", "claude")
    line = next(line for line in table.splitlines() if call_id in line)
    assert "+unpriced" in line and "the cost counts none of them" in table

    usage = stack.seam("report", "usage", "--by", "route", "--since", "1h", "--json")
    by_route = {r["key"]: r for r in usage if r["purpose"] == "live"}
    assert by_route["claude"]["unpriced_calls"] >= 1
    assert by_route["chat"]["unpriced_calls"] == 0, "priced by the model asked for"
    text = stack.seam("report", "usage", "--by", "route", "--since", "1h")
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "+unpriced" in rows["claude"] and "+unpriced" not in rows["chat"]
    assert "incomplete" in text


def test_calls_filter_by_route_status_outcome_in_the_store(stack):
    c = client(stack)
    ok = c.chat.completions.with_raw_response.create(model="chat", messages=HELLO)
    ok.parse()
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 503\nrate = 1.0\n')
    with pytest.raises(openai.APIStatusError) as failed:
        c.chat.completions.create(model="chat", messages=HELLO)
    # The newest call of all names no route.
    with pytest.raises(openai.NotFoundError) as unknown:
        c.chat.completions.create(model="no-such-route", messages=HELLO)
    failed_id = failed.value.response.headers["x-seam-call-id"]
    unknown_id = unknown.value.response.headers["x-seam-call-id"]
    stack.call(unknown_id)
    stack.call(failed_id)

    chat = stack.seam("calls", "--route", "chat", "--limit", "1000", "--json")
    assert chat and all(x["route"] == "chat" for x in chat)
    assert ok.headers["x-seam-call-id"] in {x["id"] for x in chat}
    # The limit counts matching calls: the newest chat call, not the newest call filtered away.
    assert [x["id"] for x in stack.seam("calls", "--route", "chat", "--limit", "1", "--json")] == [failed_id]
    errors = stack.seam("calls", "--route", "chat", "--status", "5xx", "--outcome", "error", "--json")
    assert failed_id in {x["id"] for x in errors}
    assert all(500 <= x["status"] <= 599 and x["outcome"] == "error" for x in errors)
    rejected = stack.seam("calls", "--status", "404", "--outcome", "rejected", "--json")
    assert [x["id"] for x in rejected][0] == unknown_id
    # A rejected call names no route: nothing matches (a chat call may be a 404 the provider
    # said, passed on as it said it).
    assert "no calls recorded in that window that match the filters" in stack.seam(
        "calls", "--route", "chat", "--status", "404", "--outcome", "rejected"
    )
    assert "use one of ok, error, refused, rejected, client_closed" in seam_fails(stack, "calls", "--outcome", "nope")
    assert "a class such as 4xx or 5xx" in seam_fails(stack, "calls", "--status", "9xx")


def test_calls_to_unknown_models_get_no_route_section_in_the_reliability_report(stack):
    c = client(stack)
    with pytest.raises(openai.NotFoundError) as unknown:
        c.chat.completions.create(model="gpt-nope", messages=HELLO)
    stack.call(unknown.value.response.headers["x-seam-call-id"])
    report = stack.seam("report", "reliability", "--since", "1h", "--json")
    assert all(r["route"] for r in report["routes"]), [r["route"] for r in report["routes"]]
    assert report["unrouted_calls"] >= 1
    text = stack.seam("report", "reliability", "--since", "1h")
    assert "route ``" not in text
    assert "named no route" in text


def test_traces_lists_recent_named_traces(stack):
    c = client(stack)
    trace = uuid.uuid4().hex
    last = None
    for _ in range(2):
        raw = c.chat.completions.with_raw_response.create(
            model="chat", messages=HELLO, extra_headers={"traceparent": f"00-{trace}-b7ad6b7169203331-01"}
        )
        raw.parse()
        last = raw.headers["x-seam-call-id"]
    own = c.chat.completions.with_raw_response.create(model="chat", messages=HELLO)
    own.parse()
    stack.call(own.headers["x-seam-call-id"])
    stack.call(last)

    listed = stack.seam("traces", "--since", "1h", "--json")
    row = next(r for r in listed if r["trace_id"] == trace)
    assert (row["tenant"], row["calls"], row["attempts"], row["outcomes"]) == ("e2e", 2, 2, {"ok": 2})
    assert row["first_ms"] <= row["last_ms"] and row["cost_usd"] > 0 and row["unpriced_calls"] == 0
    assert own.headers["x-seam-call-id"] not in {r["trace_id"] for r in listed}, "a call that named no trace"
    assert listed[0]["trace_id"] == trace, "the most recently active first"
    text = stack.seam("traces", "--since", "1h")
    assert trace in text and "CALLS BY OUTCOME" in text and "ok 2" in text
    assert stack.seam("traces", "--tenant", "nobody", "--json") == []
    assert len(stack.seam("traces", "show", trace, "--json")["calls"]) == 2
