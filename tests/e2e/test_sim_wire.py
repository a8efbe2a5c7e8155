"""The sim's wire formats, proven with the official SDKs pointed straight at it."""

import anthropic
import pytest
from openai import OpenAI

pytestmark = pytest.mark.usefixtures("default_scenario")


def test_openai_sdk_against_the_sim(stack):
    c = OpenAI(base_url=f"{stack.sim_url}/v1", api_key="sim", max_retries=0)
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping pong"}])
    assert r.choices[0].message.content == "ping pong"
    chunks = list(
        c.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "ping"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage.total_tokens == 2
    assert len(c.embeddings.create(model="e", input="x").data[0].embedding) == 256


def test_anthropic_sdk_against_the_sim(stack):
    c = anthropic.Anthropic(base_url=stack.sim_url, api_key="sim-key", max_retries=0)
    m = c.messages.create(
        model="claude-sim-1", max_tokens=64, system="terse", messages=[{"role": "user", "content": "hi there"}]
    )
    assert m.content[0].text == "hi there"
    assert m.stop_reason == "end_turn" and m.usage.input_tokens == 3
    with c.messages.stream(model="claude-sim-1", max_tokens=64, messages=[{"role": "user", "content": "a b c"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "a b c" and final.usage.output_tokens == 3


def test_anthropic_sdk_tool_use_and_errors(stack):
    stack.set_scenario('[content]\nmode = "tool_call"\ntool = { name = "get_weather", arguments = { city = "Oslo" } }\n')
    c = anthropic.Anthropic(base_url=stack.sim_url, api_key="sim-key", max_retries=0)
    m = c.messages.create(
        model="claude-sim-1",
        max_tokens=64,
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        messages=[{"role": "user", "content": "weather?"}],
    )
    assert m.stop_reason == "tool_use"
    assert m.content[0].name == "get_weather" and m.content[0].input == {"city": "Oslo"}
    stack.set_scenario('[[errors]]\nkind = "status"\nstatus = 529\nfirst = 1\n')
    with pytest.raises(anthropic.APIStatusError) as e:
        c.messages.create(model="claude-sim-1", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 529
