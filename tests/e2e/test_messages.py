"""The official Anthropic SDK pointed at Seam's /v1/messages (as ANTHROPIC_BASE_URL would), on
an OpenAI-format route (`chat`) and on an Anthropic one (`claude`)."""

import anthropic
import pytest

pytestmark = pytest.mark.usefixtures("default_scenario")

TOOLS = [
    {
        "name": "lookup_invoice",
        "description": "Finds an invoice by id",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    }
]


def gateway(stack):
    # The SDK appends /v1/messages itself: the base URL is the gateway's root.
    return stack.base_url.removesuffix("/v1")


def client(stack, key=None, **kw):
    """The 2026 SDK sends its key as `Authorization: Bearer`."""
    return anthropic.Anthropic(base_url=gateway(stack), api_key=key or stack.key, max_retries=0, timeout=10, **kw)


def x_api_key_client(stack):
    """A client that sends its key in `x-api-key`, as older SDKs and many agents do."""
    return anthropic.Anthropic(
        base_url=gateway(stack),
        api_key=None,
        auth_token=None,
        default_headers={"x-api-key": stack.key},
        max_retries=0,
        timeout=10,
    )


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_a_message_is_answered_and_recorded(stack, route):
    raw = client(stack).messages.with_raw_response.create(
        model=route, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "hello from claude code"}]
    )
    call_id = raw.headers["x-seam-call-id"]
    assert raw.headers["request-id"] == call_id
    m = raw.parse()
    assert m.type == "message" and m.role == "assistant"
    assert m.content[0].type == "text" and m.content[0].text == "hello from claude code"
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens == 6 and m.usage.output_tokens == 4
    rec = stack.call(call_id)["call"]
    assert rec["endpoint"] == "messages" and rec["route"] == route
    assert rec["tenant"] == "e2e" and rec["outcome"] == "ok"
    assert (rec["input_tokens"], rec["output_tokens"]) == (6, 4)


def test_x_api_key_works_as_well_as_bearer(stack):
    m = x_api_key_client(stack).messages.create(
        model="chat", max_tokens=16, messages=[{"role": "user", "content": "keyed"}]
    )
    assert m.content[0].text == "keyed"


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_a_stream_and_its_final_message(stack, route):
    with client(stack).messages.stream(
        model=route, max_tokens=64, messages=[{"role": "user", "content": "one two three four"}]
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "one two three four"
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 4 and final.usage.output_tokens == 4


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_a_tool_use_answer_and_the_tool_result_sent_back(stack, route):
    stack.set_scenario(
        '[content]\nmode = "tool_call"\ntool = { name = "lookup_invoice", arguments = { id = "inv_1" } }\n'
    )
    c = client(stack)
    question = {"role": "user", "content": "Is invoice inv_1 paid?"}
    m = c.messages.create(model=route, max_tokens=64, tools=TOOLS, messages=[question])
    assert m.stop_reason == "tool_use"
    use = next(b for b in m.content if b.type == "tool_use")
    assert use.name == "lookup_invoice" and use.input == {"id": "inv_1"}

    with c.messages.stream(model=route, max_tokens=64, tools=TOOLS, tool_choice={"type": "any"}, messages=[question]) as s:
        final = s.get_final_message()
    streamed = next(b for b in final.content if b.type == "tool_use")
    assert streamed.name == "lookup_invoice" and streamed.input == {"id": "inv_1"}
    assert final.stop_reason == "tool_use"

    stack.set_scenario('[content]\nmode = "fixed"\ntext = "Yes, it is paid."\n')
    answer = c.messages.create(
        model=route,
        max_tokens=64,
        tools=TOOLS,
        messages=[
            question,
            {"role": "assistant", "content": [b.model_dump() for b in m.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "paid"}]},
        ],
    )
    assert answer.content[0].text == "Yes, it is paid."


def test_the_routes_are_listed_as_models(stack):
    ids = [m.id for m in client(stack).models.list()]
    assert "chat" in ids and "claude" in ids


def test_count_tokens_is_an_estimate(stack):
    c = client(stack)
    plain = c.messages.count_tokens(model="chat", messages=[{"role": "user", "content": "hello there"}])
    with_tools = c.messages.count_tokens(
        model="chat", tools=TOOLS, messages=[{"role": "user", "content": "hello there"}]
    )
    assert 0 < plain.input_tokens < with_tools.input_tokens


def test_errors_take_anthropics_shape(stack):
    with pytest.raises(anthropic.NotFoundError) as e:
        client(stack).messages.create(model="no-such-route", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "not_found_error"
    assert "no-such-route" in e.value.body["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError) as e:
        client(stack, key="sk-seam-wrong").messages.create(
            model="chat", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert e.value.status_code == 401 and e.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as e:
        client(stack).messages.create(
            model="chat",
            max_tokens=8,
            messages=[{"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}],
        )
    assert "messages[0].content[0]" in e.value.body["error"]["message"]


def test_a_limit_refusal_is_a_rate_limit_error(stack):
    key = stack.seam("keys", "create", "--tenant", "e2e-limited", "--key-limit", "requests_per_minute=1", "--json")["key"]
    c = client(stack, key=key)
    c.messages.create(model="chat", max_tokens=8, messages=[{"role": "user", "content": "first"}])
    with pytest.raises(anthropic.RateLimitError) as e:
        c.messages.create(model="chat", max_tokens=8, messages=[{"role": "user", "content": "second"}])
    assert e.value.body["error"]["type"] == "rate_limit_error"
    rec = stack.call(e.value.response.headers["x-seam-call-id"])["call"]
    assert (rec["outcome"], rec["status"], rec["endpoint"]) == ("refused", 429, "messages")
