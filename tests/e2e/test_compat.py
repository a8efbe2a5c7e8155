"""The compatibility suite: client libraries nobody on this project wrote, pointed at Seam in
front of the sim, with only the base URL and the key changed.

- the OpenAI Node SDK and the Vercel AI SDK (`ai` + `@ai-sdk/openai`): scripts in compat/, one
  process per case (`node compat/openai-node.mjs CASE`), packages pinned in
  compat/package-lock.json and installed by scripts/test (`npm ci`);
- LangChain (`langchain-openai`) and LiteLLM's Python client, from requirements.txt.

Each covers chat, streams, tools, structured output, embeddings and the error classes (the
exception each library raises for 401, 404, 429 and 400), and all but embeddings again
through the Responses API (RESPONSES below; LangChain's `use_responses_api`,
`litellm.responses`), on a route where Seam passes it through and on one where it translates
it to chat completions; the OpenAI Python SDK's `client.responses` is tested in
test_responses.py. Without Node, the npm packages or the Python packages the suite skips what
is missing, unless SEAM_REQUIRE_COMPAT=1 (scripts/test sets it): then it fails.
"""

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent / "compat"
REQUIRED = os.environ.get("SEAM_REQUIRE_COMPAT") == "1"
# LiteLLM would fetch its model price list from the internet when imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

DEFAULT = '[model]\nserved = "sim-large-2026-01"\nfingerprint = "fp_e2e"\n'
TOOL = '[content]\nmode = "tool_call"\ntool = { name = "lookup_invoice", arguments = { id = "inv_1" } }\n'
INVOICE = '[content]\nmode = "json"\njson = { id = "inv_1", total = 12.5 }\n'
ALWAYS_429 = '[[errors]]\nkind = "status"\nstatus = 429\nevery = 1\n'
ALWAYS_400 = '[[errors]]\nkind = "status"\nstatus = 400\nevery = 1\nmessage = "bad things in the request"\n'

# The scenario each case runs under (a Responses API case under its chat twin's).
SCENARIOS = {
    "tools": TOOL,
    "structured": INVOICE,
    "tool_loop": TOOL,
    "errors_upstream": ALWAYS_429,
    "errors_bad_request": ALWAYS_400,
}
CASES = ["chat", "stream", "tools", "structured", "embeddings", "errors", "errors_upstream", "errors_bad_request"]


# The Responses API, as `CASE@ROUTE`: on `chat` Seam passes it through to the sim, on `claude`
# it translates it to chat completions for the sim's Anthropic format and back.
def on_both_routes(*cases: str) -> list[str]:
    return [f"{case}@{route}" for case in cases for route in ["chat", "claude"]]


RESPONSES = on_both_routes(
    "responses", "responses_stream", "responses_tools", "responses_structured", "responses_errors",
    "responses_errors_upstream", "responses_errors_bad_request",
)
NODE = {
    "openai-node": CASES + ["completions", "models"] + RESPONSES,
    "ai-sdk": CASES + RESPONSES + on_both_routes("responses_tool_loop", "responses_conversation"),
}


def missing(what: str):
    if REQUIRED:
        pytest.fail(f"{what} (SEAM_REQUIRE_COMPAT=1; scripts/test installs it)")
    pytest.skip(what)


@pytest.fixture
def scenario(stack):
    def set_for(case: str):
        case = case.split("@")[0].removeprefix("responses_")
        stack.set_scenario(SCENARIOS.get(case, DEFAULT))

    yield set_for
    stack.set_scenario(DEFAULT)


@pytest.mark.parametrize(
    "script,case", [(script, case) for script, cases in NODE.items() for case in cases]
)
def test_node(stack, scenario, script, case):
    node = shutil.which("node")
    if node is None:
        missing("node is not installed (apt-get install -y nodejs npm)")
    if not (COMPAT / "node_modules").is_dir():
        missing("the npm packages are not installed (cd tests/e2e/compat && npm ci)")
    scenario(case)
    out = subprocess.run(
        [node, str(COMPAT / f"{script}.mjs"), case],
        env={**os.environ, "SEAM_BASE_URL": stack.base_url, "SEAM_KEY": stack.key},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and f"{script} {case}: ok" in out.stdout, f"{script} {case}:\n{out.stdout}\n{out.stderr}"
    # The calls the script saw Seam's call id for (`seam-call ID`) are recorded as what they were.
    route = case.split("@")[1] if "@" in case else "chat"
    for line in out.stdout.splitlines():
        if line.startswith("seam-call "):
            call = stack.call(line.split()[1])["call"]
            assert call["route"] == route
            assert call["endpoint"] == ("responses" if case.startswith("responses") else "chat")
            assert call["output_tokens"] > 0


def need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"{module} is not installed (pip install -r tests/e2e/requirements.txt)")


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_invoice",
            "description": "Find an invoice",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
]
INVOICE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "invoice",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "total": {"type": "number"}},
            "required": ["id", "total"],
            "additionalProperties": False,
        },
    },
}


# LangChain: ChatOpenAI and OpenAIEmbeddings raise the openai SDK's exceptions.


def chat_model(stack, key=None, model="chat", **kw):
    lc = need("langchain_openai")
    return lc.ChatOpenAI(model=model, base_url=stack.base_url, api_key=key or stack.key, max_retries=0, timeout=10, **kw)


def test_langchain_chat_and_stream(stack, scenario):
    scenario("chat")
    r = chat_model(stack).invoke("hello from langchain")
    assert r.content == "hello from langchain"
    assert r.usage_metadata["output_tokens"] == 3
    chunks = list(chat_model(stack, stream_usage=True).stream("one two three"))
    assert "".join(c.content for c in chunks) == "one two three"
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) == 3


def test_langchain_tools(stack, scenario):
    scenario("tools")
    r = chat_model(stack).bind_tools(TOOLS).invoke("find inv_1")
    assert r.tool_calls[0]["name"] == "lookup_invoice"
    assert r.tool_calls[0]["args"] == {"id": "inv_1"}


def test_langchain_structured_output(stack, scenario):
    scenario("structured")
    pydantic = need("pydantic")

    class Invoice(pydantic.BaseModel):
        id: str
        total: float

    r = chat_model(stack).with_structured_output(Invoice, method="json_schema").invoke("an invoice")
    assert r == Invoice(id="inv_1", total=12.5)


def test_langchain_embeddings(stack, scenario):
    scenario("embeddings")
    lc = need("langchain_openai")
    # Without the context-length check, which would fetch a tokenizer from the internet.
    emb = lc.OpenAIEmbeddings(
        model="embed", base_url=stack.base_url, api_key=stack.key, check_embedding_ctx_length=False, max_retries=0
    )
    docs = emb.embed_documents(["alpha", "beta"])
    assert len(docs) == 2 and docs[0] == pytest.approx(emb.embed_query("alpha"))


def test_langchain_error_classes(stack, scenario):
    openai = need("openai")
    scenario("errors")
    with pytest.raises(openai.AuthenticationError):
        chat_model(stack, key="sk-seam-not-a-key").invoke("hi")
    with pytest.raises(openai.NotFoundError):
        need("langchain_openai").ChatOpenAI(
            model="no-such-route", base_url=stack.base_url, api_key=stack.key, max_retries=0
        ).invoke("hi")
    scenario("errors_upstream")
    with pytest.raises(openai.RateLimitError):
        chat_model(stack).invoke("hi")
    scenario("errors_bad_request")
    with pytest.raises(openai.BadRequestError):
        chat_model(stack).invoke("hi")


# LangChain on the Responses API (`use_responses_api=True`), passed through (`chat`) and
# translated (`claude`), as the Node cases above.


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_langchain_responses_api(stack, scenario, route):
    pydantic = need("pydantic")
    scenario("chat")
    r = chat_model(stack, model=route, use_responses_api=True, include_response_headers=True).invoke(
        "hello from langchain responses"
    )
    assert r.text == "hello from langchain responses"
    assert r.usage_metadata["output_tokens"] == 4
    call = stack.call(r.response_metadata["headers"]["x-seam-call-id"])["call"]
    assert call["endpoint"] == "responses" and call["route"] == route
    chunks = list(chat_model(stack, model=route, use_responses_api=True).stream("one two three"))
    assert "".join(c.text for c in chunks) == "one two three"
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) == 3
    scenario("tools")
    r = chat_model(stack, model=route, use_responses_api=True).bind_tools(TOOLS).invoke("find inv_1")
    assert [(c["name"], c["args"]) for c in r.tool_calls] == [("lookup_invoice", {"id": "inv_1"})]
    scenario("structured")

    class Invoice(pydantic.BaseModel):
        id: str
        total: float

    model = chat_model(stack, model=route, use_responses_api=True)
    r = model.with_structured_output(Invoice, method="json_schema").invoke("an invoice")
    assert r == Invoice(id="inv_1", total=12.5)


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_langchain_responses_api_error_classes(stack, scenario, route):
    openai = need("openai")
    scenario("errors")
    with pytest.raises(openai.AuthenticationError):
        chat_model(stack, key="sk-seam-not-a-key", model=route, use_responses_api=True).invoke("hi")
    with pytest.raises(openai.NotFoundError):
        chat_model(stack, model="no-such-route", use_responses_api=True).invoke("hi")
    scenario("errors_upstream")
    with pytest.raises(openai.RateLimitError):
        chat_model(stack, model=route, use_responses_api=True).invoke("hi")
    scenario("errors_bad_request")
    with pytest.raises(openai.BadRequestError):
        chat_model(stack, model=route, use_responses_api=True).invoke("hi")


# LiteLLM as a client library: `openai/ROUTE` with Seam as the api_base.


def litellm_call(stack, model="chat", key=None, **kw):
    litellm = need("litellm")
    return litellm.completion(
        model=f"openai/{model}", api_base=stack.base_url, api_key=key or stack.key, num_retries=0, timeout=10, **kw
    )


def test_litellm_chat_and_stream(stack, scenario):
    scenario("chat")
    r = litellm_call(stack, messages=[{"role": "user", "content": "hello from litellm"}])
    assert r.choices[0].message.content == "hello from litellm"
    assert r.usage.completion_tokens == 3
    chunks = list(
        litellm_call(stack, messages=[{"role": "user", "content": "one two three"}], stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"


def test_litellm_tools_and_structured_output(stack, scenario):
    import json

    scenario("tools")
    r = litellm_call(stack, messages=[{"role": "user", "content": "find inv_1"}], tools=TOOLS)
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup_invoice"
    assert json.loads(call.function.arguments) == {"id": "inv_1"}
    scenario("structured")
    r = litellm_call(stack, messages=[{"role": "user", "content": "an invoice"}], response_format=INVOICE_SCHEMA)
    assert json.loads(r.choices[0].message.content) == {"id": "inv_1", "total": 12.5}


def test_litellm_embeddings(stack, scenario):
    scenario("embeddings")
    litellm = need("litellm")
    r = litellm.embedding(model="openai/embed", input=["alpha", "beta"], api_base=stack.base_url, api_key=stack.key)
    assert len(r.data) == 2
    assert all(isinstance(x, float) for x in r.data[0]["embedding"])


def test_litellm_error_classes(stack, scenario):
    litellm = need("litellm")
    hi = [{"role": "user", "content": "hi"}]
    scenario("errors")
    with pytest.raises(litellm.AuthenticationError):
        litellm_call(stack, key="sk-seam-not-a-key", messages=hi)
    with pytest.raises(litellm.NotFoundError):
        litellm_call(stack, model="no-such-route", messages=hi)
    scenario("errors_upstream")
    with pytest.raises(litellm.RateLimitError):
        litellm_call(stack, messages=hi)
    scenario("errors_bad_request")
    with pytest.raises(litellm.BadRequestError):
        litellm_call(stack, messages=hi)


# LiteLLM's Responses API client (`litellm.responses`), passed through and translated.

RESPONSES_TOOLS = [{"type": "function", **t["function"]} for t in TOOLS]


def litellm_responses(stack, route="chat", key=None, **kw):
    litellm = need("litellm")
    return litellm.responses(
        model=f"openai/{route}", api_base=stack.base_url, api_key=key or stack.key, num_retries=0, timeout=10, **kw
    )


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_litellm_responses(stack, scenario, route):
    import json

    scenario("chat")
    r = litellm_responses(stack, route, input="hello from litellm responses")
    assert r.output[0].content[0].text == "hello from litellm responses"
    assert r.usage.output_tokens == 4
    call = stack.call(r._hidden_params["headers"]["x-seam-call-id"])["call"]
    assert call["endpoint"] == "responses" and call["route"] == route
    events = list(litellm_responses(stack, route, input="one two three", stream=True))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three"
    assert events[-1].type == "response.completed" and events[-1].response.usage.output_tokens == 3
    scenario("tools")
    r = litellm_responses(stack, route, input="find inv_1", tools=RESPONSES_TOOLS)
    calls = [o for o in r.output if o.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("lookup_invoice", {"id": "inv_1"})]
    scenario("structured")
    schema = INVOICE_SCHEMA["json_schema"]
    r = litellm_responses(stack, route, input="an invoice", text={"format": {"type": "json_schema", **schema}})
    assert json.loads(r.output[0].content[0].text) == {"id": "inv_1", "total": 12.5}


@pytest.mark.parametrize("route", ["chat", "claude"])
def test_litellm_responses_error_classes(stack, scenario, route):
    litellm = need("litellm")
    scenario("errors")
    with pytest.raises(litellm.AuthenticationError):
        litellm_responses(stack, route, key="sk-seam-not-a-key", input="hi")
    with pytest.raises(litellm.NotFoundError):
        litellm_responses(stack, "no-such-route", input="hi")
    scenario("errors_upstream")
    with pytest.raises(litellm.RateLimitError):
        litellm_responses(stack, route, input="hi")
    scenario("errors_bad_request")
    with pytest.raises(litellm.BadRequestError):
        litellm_responses(stack, route, input="hi")
