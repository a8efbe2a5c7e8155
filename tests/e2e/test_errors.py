"""Provider errors and retry signals seen from the official OpenAI SDK at its default retry
settings (issue 22): the same exception classes through Seam as straight at the provider, the
provider's code, param and request id kept, and no retries multiplied by the SDK's own."""

import json
import urllib.request

import openai
import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")

HI = [{"role": "user", "content": "hi"}]


def sim_requests(stack) -> int:
    with urllib.request.urlopen(f"{stack.sim_url}/_sim/stats", timeout=5) as r:
        return json.load(r)["requests"]


def error_rule(status: int, **fields) -> str:
    extra = "".join(f'{k} = "{v}"\n' for k, v in fields.items())
    return f'[[errors]]\nkind = "status"\nstatus = {status}\nrate = 1.0\n{extra}'


def failure(client: OpenAI, model: str) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model=model, messages=HI)
    return e.value


@pytest.mark.parametrize(
    "status,cls,fields",
    [
        (400, openai.BadRequestError, {"code": "context_length_exceeded", "param": "messages"}),
        (401, openai.AuthenticationError, {"code": "invalid_api_key"}),
        (403, openai.PermissionDeniedError, {"code": "unsupported_country_region_territory"}),
        (404, openai.NotFoundError, {"code": "model_not_found", "param": "model"}),
        (422, openai.UnprocessableEntityError, {}),
        (429, openai.RateLimitError, {"code": "rate_limit_exceeded", "type": "requests"}),
        (500, openai.InternalServerError, {"type": "server_error"}),
        (503, openai.InternalServerError, {"type": "server_error"}),
    ],
)
def test_each_error_class_is_the_same_through_seam_as_straight_at_the_provider(stack, status, cls, fields):
    stack.set_scenario(error_rule(status, message=f"upstream says {status}", **fields))
    direct = OpenAI(base_url=f"{stack.sim_url}/v1", api_key="sk-direct", max_retries=0, timeout=10)
    straight = failure(direct, "sim-large-2026-01")
    # The SDK's default retries: Seam says when they cannot help, so the provider sees Seam's
    # one attempt (the `chat` route makes one), not one per SDK retry.
    before = sim_requests(stack)
    through = failure(OpenAI(base_url=stack.base_url, api_key=stack.key, timeout=20), "chat")
    assert sim_requests(stack) - before == 1
    assert type(straight) is cls and type(through) is cls
    assert through.status_code == straight.status_code == status
    assert (through.code, through.param, through.type) == (straight.code, straight.param, straight.type)
    assert through.body["message"] == straight.body["message"]
    assert through.body["seam"] == {"class": "status_5xx" if status >= 500 else "status_429" if status == 429 else "status_4xx", "provider": "sim", "attempts": 1}
    assert through.request_id and through.request_id.startswith("req_sim_")
    assert through.response.headers["x-seam-call-id"]


def test_an_always_429_upstream_sees_seams_attempts_not_times_the_sdks_retries(stack):
    stack.set_scenario(error_rule(429, code="rate_limit_exceeded") + "retry_after_ms = 20\n")
    before = sim_requests(stack)
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, timeout=20)  # max_retries: the default, 2
    e = failure(c, "retry-signals")
    assert isinstance(e, openai.RateLimitError)
    assert sim_requests(stack) - before == 3, "the route's 3 attempts, no more"
    h = e.response.headers
    assert (h["x-should-retry"], h["x-seam-attempts"], h["retry-after-ms"]) == ("false", "3", "20")
    assert e.code == "rate_limit_exceeded" and e.body["seam"]["attempts"] == 3


def test_insufficient_quota_is_tried_once(stack):
    stack.set_scenario(error_rule(429, code="insufficient_quota", type="insufficient_quota", message="You exceeded your current quota"))
    before = sim_requests(stack)
    e = failure(OpenAI(base_url=stack.base_url, api_key=stack.key, timeout=20), "retry-signals")
    assert isinstance(e, openai.RateLimitError) and e.code == "insufficient_quota"
    assert sim_requests(stack) - before == 1


def test_an_answer_carries_the_providers_request_id_and_the_record_keeps_it(stack):
    c = OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10)
    raw = c.chat.completions.with_raw_response.create(model="chat", messages=HI)
    assert raw.request_id and raw.request_id.startswith("req_sim_")
    call = stack.call(raw.headers["x-seam-call-id"])
    assert call["call"]["upstream_request_id"] == raw.request_id
    assert call["attempts"][0]["upstream_request_id"] == raw.request_id


@pytest.mark.parametrize(
    "status,kind,message,cls,code",
    [
        (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", openai.BadRequestError, "context_length_exceeded"),
        (401, "authentication_error", "invalid x-api-key", openai.AuthenticationError, "invalid_api_key"),
        (429, "rate_limit_error", "rate limited", openai.RateLimitError, "rate_limit_exceeded"),
        (529, "overloaded_error", "Overloaded", openai.InternalServerError, None),
    ],
)
def test_anthropic_errors_reach_the_openai_sdk_as_openais(stack, status, kind, message, cls, code):
    stack.set_scenario(error_rule(status, type=kind, message=message))
    e = failure(OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=20), "claude")
    assert type(e) is cls and e.code == code and e.body["message"] == message
    if status == 529:
        assert e.status_code == 503 and e.type == "server_error"
