"""The official OpenAI SDK's `responses` client: straight at the sim (its wire format), and
through Seam on a route whose provider speaks the Responses API (`chat`: passed through) and
on one whose provider does not (`claude`: translated to chat completions and back)."""

import json

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

pytestmark = pytest.mark.usefixtures("default_scenario")

TOOLS = [
    {
        "type": "function",
        "name": "lookup_invoice",
        "description": "Finds an invoice by id",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    }
]

TOOL_SCENARIO = '[content]\nmode = "tool_call"\ntool = { name = "lookup_invoice", arguments = { id = "7" } }\n'


def client(stack, **kw):
    return OpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0, timeout=10, **kw)


def test_the_sdk_reads_the_sims_responses(stack):
    c = OpenAI(base_url=f"{stack.sim_url}/v1", api_key="sim", max_retries=0)
    r = c.responses.create(model="m", instructions="terse", input="ping pong")
    assert r.object == "response" and r.status == "completed"
    assert r.output_text == "ping pong"
    assert r.usage.input_tokens == 3 and r.usage.output_tokens == 2
    events = list(c.responses.create(model="m", input="a b c", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "a b c"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    with c.responses.stream(model="m", input="x y") as s:
        text = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        final = s.get_final_response()
    assert text == "x y" and final.output_text == "x y"
    assert c.responses.retrieve(r.id).output_text == "ping pong"
    c.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(r.id)


def test_the_sdk_reads_the_sims_function_calls(stack):
    stack.set_scenario(TOOL_SCENARIO)
    c = OpenAI(base_url=f"{stack.sim_url}/v1", api_key="sim", max_retries=0)
    r = c.responses.create(model="m", input="find 7", tools=TOOLS)
    call = r.output[0]
    assert call.type == "function_call" and call.name == "lookup_invoice"
    assert json.loads(call.arguments) == {"id": "7"}
    events = list(c.responses.create(model="m", input="find 7", tools=TOOLS, stream=True))
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(args) == {"id": "7"}


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_a_response_through_seam(stack, route):
    c = client(stack)
    raw = c.responses.with_raw_response.create(model=route, instructions="Be brief.", input="hello there gateway")
    r = raw.parse()
    assert r.object == "response" and r.status == "completed"
    assert r.output_text == "hello there gateway"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 3
    call = stack.call(raw.headers["x-seam-call-id"])["call"]
    assert call["endpoint"] == "responses" and call["route"] == route
    assert call["output_tokens"] == 3


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_a_streamed_response_through_seam(stack, route):
    c = client(stack)
    events = list(c.responses.create(model=route, input="one two three four", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.output_item.added" in types and "response.content_part.added" in types
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three four"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1].response
    assert done.output_text == "one two three four" and done.usage.output_tokens == 4
    with c.responses.stream(model=route, input="five six") as s:
        for _ in s:
            pass
        final = s.get_final_response()
    assert final.output_text == "five six"


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_function_calls_and_their_outputs_through_seam(stack, route):
    stack.set_scenario(TOOL_SCENARIO)
    c = client(stack)
    r = c.responses.create(model=route, input="Find invoice 7", tools=TOOLS, tool_choice="required")
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "lookup_invoice"
    assert json.loads(calls[0].arguments) == {"id": "7"}
    events = list(c.responses.create(model=route, input="Find invoice 7", tools=TOOLS, stream=True))
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(args) == {"id": "7"}
    assert events[-1].response.output[-1].type == "function_call"
    stack.set_scenario('[model]\nserved = "sim-large-2026-01"\n')
    follow = c.responses.create(
        model=route,
        tools=TOOLS,
        input=[
            {"role": "user", "content": "Find invoice 7"},
            {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name, "arguments": calls[0].arguments},
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "paid"},
            {"role": "user", "content": "is it paid"},
        ],
    )
    # The sim echoes the last user turn (Anthropic's holds the tool result too).
    assert follow.output_text.endswith("is it paid")


class Invoice(BaseModel):
    id: str
    paid: bool


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_structured_output_through_seam(stack, route):
    stack.set_scenario('[content]\nmode = "fixed"\ntext = "{\\"id\\": \\"7\\", \\"paid\\": true}"\n')
    r = client(stack).responses.parse(model=route, input="invoice 7?", text_format=Invoice)
    assert r.output_parsed == Invoice(id="7", paid=True)


def test_errors_through_seam(stack):
    c = client(stack)
    with pytest.raises(openai.NotFoundError) as e:
        c.responses.create(model="no-such-route", input="x")
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        c.responses.create(model="claude", input="x", previous_response_id="resp_1")
    assert "previous_response_id" in e.value.message
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=stack.base_url, api_key="sk-seam-wrong", max_retries=0).responses.create(model="chat", input="x")


def test_stored_responses_through_seam(stack):
    c = client(stack)
    r = c.responses.create(model="chat", input="keep this")
    assert c.responses.retrieve(r.id).output_text == "keep this"
    c.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.retrieve(r.id)
