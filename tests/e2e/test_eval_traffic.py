"""Eval traffic (issue 24, item 3) through the official openai SDK and a real `seam serve`: a
call with `x-seam-purpose: eval` is recorded with its purpose and reported apart by `seam report
usage`; any other value is refused. Records are waited for by call id."""

import openai
import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")

HELLO = [{"role": "user", "content": "hello"}]


def client(stack):
    return OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)


def test_an_eval_call_is_recorded_and_reported_as_eval_traffic(stack):
    c = client(stack)
    evaluated = c.chat.completions.with_raw_response.create(
        model="chat", messages=HELLO, extra_headers={"x-seam-purpose": "eval"}
    )
    evaluated.parse()
    live = c.chat.completions.with_raw_response.create(model="chat", messages=HELLO)
    live.parse()
    record = stack.call(evaluated.headers["x-seam-call-id"])
    assert record["call"]["purpose"] == "eval"
    assert "purpose" not in stack.call(live.headers["x-seam-call-id"])["call"], "live traffic stores none"
    assert "purpose             eval" in stack.seam("calls", "show", evaluated.headers["x-seam-call-id"])

    usage = stack.seam("report", "usage", "--by", "route", "--since", "1h", "--json")
    # (test_canaries.py's replays, in the same store, are canary traffic: reported apart too.)
    assert {r["purpose"] for r in usage} - {"canary"} == {"live", "eval"}
    chat = {r["purpose"]: r for r in usage if r["key"] == "chat"}
    assert chat["eval"]["calls"] >= 1 and chat["live"]["calls"] >= 1
    text = stack.seam("report", "usage", "--by", "route", "--since", "1h")
    assert text.startswith("live traffic:") and "\neval traffic (x-seam-purpose: eval):" in text

    with pytest.raises(openai.BadRequestError) as refused:
        c.chat.completions.create(model="chat", messages=HELLO, extra_headers={"x-seam-purpose": "staging"})
    assert refused.value.code == "invalid_header" and refused.value.param == "x-seam-purpose"
    assert "`eval`" in refused.value.message
    shown = stack.call(refused.value.response.headers["x-seam-call-id"])
    assert shown["call"]["status"] == 400 and shown["call"]["outcome"] == "rejected"
