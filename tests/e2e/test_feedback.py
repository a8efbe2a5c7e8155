"""Feedback and silent-failure signals end to end (issue 29): the official `openai` SDK calls the
gateway and posts feedback with its generic `post`; `seam failures --json` reports the signals
the pass found in what was recorded. Unknown and other tenants' calls get the same 404."""

import uuid

import httpx
import openai
import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")


@pytest.fixture(scope="module")
def capturing(stack):
    """A client of tenant e2e-capture, whose every call keeps its content."""
    key = stack.seam("keys", "create", "--tenant", "e2e-capture", "--json")["key"]
    return OpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=10)


def feedback(client, **body):
    """POST /v1/feedback through the SDK: the raw response, whatever its status."""
    try:
        return client.post("/feedback", body=body, cast_to=httpx.Response)
    except openai.APIStatusError as e:
        return e.response


def ask(client, text, session):
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": text}], extra_headers={"x-seam-session": session}
    )
    raw.parse()
    return raw.headers["x-seam-call-id"]


def test_feedback_on_a_call_is_stored_and_counted_as_a_signal(stack, capturing):
    session = f"s-{uuid.uuid4()}"
    first = ask(capturing, "How do I pay an invoice in euros from a dollar account?", session)
    # The user rephrases within seconds: the first answer was not accepted.
    second = ask(capturing, "how can I pay my invoice in euros when my account is in dollars", session)
    stack.call(second)  # recorded before the scan reads it
    # As the README shows it: the SDK's generic post, the answer as a dict.
    body = capturing.post(
        "/feedback", body={"call_id": first, "score": -1, "comment": "wrong again, mail ana.souza@example.com"}, cast_to=dict
    )
    assert body["object"] == "feedback" and body["id"].startswith("fb_")
    assert body["call_id"] == first and body["score"] == -1.0
    assert body["comment_kept"] is True, "tenant e2e-capture keeps content, so its comments"

    report = stack.seam("failures", "--since", "1h", "--by", "signal", "--json")
    signals = {r["signal"]: r for r in report["rows"]}
    assert signals["feedback"]["now"]["flagged"] >= 1
    assert signals["rephrase"]["now"]["flagged"] >= 1
    assert report["scanned"]["calls"] >= 2
    assert "Wilson" in report["method"]
    text = stack.seam("failures", "--since", "1h")
    assert "rephrase" in text and "RATE [95%]" in text


def test_unknown_and_other_tenants_calls_are_the_same_404(stack, capturing):
    other = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    theirs = ask(other, "hello", f"s-{uuid.uuid4()}")
    stack.call(theirs)  # recorded: it exists, for tenant e2e
    answers = [feedback(capturing, call_id=theirs, score=-1), feedback(capturing, call_id="call_nope", score=1)]
    for a in answers:
        assert a.status_code == 404, a.text
        err = a.json()["error"]
        assert err["code"] == "call_not_found" and err["param"] == "call_id"
        assert "this key's tenant" in err["message"]
    assert answers[0].json()["error"]["message"].replace(theirs, "X") == answers[1].json()["error"][
        "message"
    ].replace("call_nope", "X"), "nothing tells the two apart"
    by_trace = feedback(capturing, trace_id="no-such-trace", score=0.5)
    assert by_trace.status_code == 404 and by_trace.json()["error"]["code"] == "trace_not_found"


def test_bad_feedback_is_a_clear_400(stack, capturing):
    call = ask(capturing, "hello there", f"s-{uuid.uuid4()}")
    cases = [
        ({"call_id": call, "score": 3}, "score"),
        ({"call_id": call, "score": "bad"}, "score"),
        ({"call_id": call, "trace_id": "t", "score": 1}, "call_id"),
        ({"score": 1}, "call_id"),
    ]
    for body, param in cases:
        r = feedback(capturing, **body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["param"] == param, r.text
    unknown = feedback(capturing, call_id=call, score=1, rating=5)
    assert unknown.status_code == 400 and "rating" in unknown.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=stack.base_url, api_key="sk-seam-wrong", max_retries=0).post(
            "/feedback", body={"call_id": call, "score": 1}, cast_to=httpx.Response
        )


def test_a_feedback_flood_is_rate_limited_like_calls(stack):
    key = stack.seam("keys", "create", "--tenant", "e2e-limited", "--key-limit", "requests_per_minute=2", "--json")["key"]
    client = OpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=10)
    statuses = [feedback(client, call_id="call_nope", score=-1).status_code for _ in range(4)]
    assert 429 in statuses, statuses
