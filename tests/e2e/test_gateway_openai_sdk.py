"""The official OpenAI SDK pointed at Seam: only base_url and the key change."""

import json

import openai
import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")


def client(stack, key=None):
    return OpenAI(base_url=stack.base_url, api_key=key or stack.key, max_retries=0, timeout=10)


def test_chat_non_streaming(stack):
    raw = client(stack).chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "hello from the sdk"}], seed=3, user="u-1"
    )
    assert raw.headers["x-seam-attempts"] == "1"
    assert raw.headers["x-seam-served-model"] == "sim-large-2026-01"
    r = raw.parse()
    assert r.choices[0].message.content == "hello from the sdk"
    assert r.model == "sim-large-2026-01"
    assert r.system_fingerprint == "fp_e2e"
    assert r.usage.prompt_tokens == 4 and r.usage.completion_tokens == 4
    call = stack.call(raw.headers["x-seam-call-id"])
    assert call["call"]["tenant"] == "e2e"
    assert call["call"]["cost_usd"] == pytest.approx((4 * 1.0 + 4 * 4.0) / 1e6)


def test_chat_streaming_with_usage(stack):
    stream = client(stack).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def test_chat_streaming_without_usage_gets_none(stack):
    chunks = list(
        client(stack).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "a b"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_tool_calls(stack):
    stack.set_scenario(
        '[content]\nmode = "tool_call"\ntool = { name = "lookup_invoice", arguments = { id = "inv_1" } }\n'
    )
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup_invoice",
                "description": "Find an invoice",
                "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        }
    ]
    for model in ("chat", "claude"):
        r = client(stack).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "find inv_1"}], tools=tools, tool_choice="auto"
        )
        call = r.choices[0].message.tool_calls[0]
        assert r.choices[0].finish_reason == "tool_calls", model
        assert call.function.name == "lookup_invoice"
        assert json.loads(call.function.arguments) == {"id": "inv_1"}


def test_anthropic_route_streams_through_the_openai_sdk(stack):
    chunks = list(
        client(stack).chat.completions.create(
            model="claude",
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "x y z"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "x y z"
    assert chunks[-1].usage.prompt_tokens == 5


def test_embeddings(stack):
    r = client(stack).embeddings.create(model="embed", input=["alpha", "beta"])
    assert len(r.data) == 2 and len(r.data[0].embedding) == 256
    assert abs(sum(x * x for x in r.data[0].embedding) - 1.0) < 1e-4, "unit vectors"
    assert len(client(stack).embeddings.create(model="embed", input="alpha", dimensions=8).data[0].embedding) == 8
    # The sim's vectors keep similarity (hashed words and trigrams): a typo is near, another topic far.
    texts = ["cancel my subscription", "cancell my subscripton", "export invoices as csv"]
    a, b, c = (d.embedding for d in client(stack).embeddings.create(model="embed", input=texts).data)
    dot = lambda x, y: sum(p * q for p, q in zip(x, y))
    assert dot(a, b) > 0.5 > 0.2 > dot(a, c), (dot(a, b), dot(a, c))


def test_models_list(stack):
    ids = [m.id for m in client(stack).models.list()]
    assert ids == ["chat", "chat-retry", "retry-signals", "smooth", "claude", "embed", "sampled"]


def test_models_retrieve(stack):
    assert client(stack).models.retrieve("chat").id == "chat"
    with pytest.raises(openai.NotFoundError) as e:
        client(stack).models.retrieve("nope")
    assert e.value.body["code"] == "model_not_found"


def test_legacy_completions(stack):
    raw = client(stack).completions.with_raw_response.create(model="chat", prompt="complete this please")
    r = raw.parse()
    assert r.choices[0].text == "complete this please"
    assert r.usage.completion_tokens == 3
    assert stack.call(raw.headers["x-seam-call-id"])["call"]["endpoint"] == "completions"
    chunks = list(
        client(stack).completions.create(
            model="chat", prompt="a b c", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "a b c"
    assert chunks[-1].usage.completion_tokens == 3
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).completions.create(model="claude", prompt="hi")
    assert "no legacy completions endpoint" in e.value.message


def test_a_base_url_without_v1_is_told_where_the_api_is(stack):
    base = stack.base_url.removesuffix("/v1")
    with pytest.raises(openai.NotFoundError) as e:
        OpenAI(base_url=base, api_key=stack.key, max_retries=0).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
    assert "/v1/chat/completions" in e.value.message


def test_400_bad_request(stack):
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).chat.completions.create(model="chat", messages=[])
    assert e.value.status_code == 400
    assert e.value.body["param"] == "messages"


def test_401_authentication(stack):
    with pytest.raises(openai.AuthenticationError) as e:
        client(stack, key="sk-seam-not-a-key").models.list()
    assert e.value.code == "invalid_api_key"


def test_404_unknown_model(stack):
    with pytest.raises(openai.NotFoundError) as e:
        client(stack).chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "model_not_found"


def test_429_rate_limit(stack):
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 429\nretry_after_secs = 2\nfirst = 1\n')
    with pytest.raises(openai.RateLimitError) as e:
        client(stack).chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "2"


def test_calls_cli_lists_what_was_recorded(stack):
    raw = client(stack).chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "listed"}]
    )
    stack.call(raw.headers["x-seam-call-id"])
    calls = stack.seam("calls", "--since", "1h", "--json")
    assert any(c["route"] == "chat" and c["outcome"] == "ok" for c in calls)
    assert any(c["outcome"] == "error" and c["error_class"] == "status_429" for c in calls)
