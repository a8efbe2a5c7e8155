// The OpenAI Node SDK against Seam: `node openai-node.mjs CASE`, with SEAM_BASE_URL and
// SEAM_KEY set by tests/e2e/test_compat.py (which also sets the sim's scenario per case).
// Exits non-zero with the failed assertion.
import assert from "node:assert/strict";
import OpenAI from "openai";

const { SEAM_BASE_URL: baseURL, SEAM_KEY: apiKey } = process.env;
const client = (key = apiKey) => new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 10_000 });
const user = (content) => [{ role: "user", content }];

const cases = {
  async chat() {
    const { data, response } = await client()
      .chat.completions.create({ model: "chat", messages: user("hello from node") })
      .withResponse();
    assert.equal(data.choices[0].message.content, "hello from node");
    assert.equal(data.usage.completion_tokens, 3);
    assert.ok(response.headers.get("x-seam-call-id"));
  },

  async stream() {
    const stream = await client().chat.completions.create({
      model: "chat",
      messages: user("one two three"),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, "one two three");
    assert.equal(usage.completion_tokens, 3);
  },

  async tools() {
    const tools = [
      {
        type: "function",
        function: {
          name: "lookup_invoice",
          parameters: { type: "object", properties: { id: { type: "string" } } },
        },
      },
    ];
    const r = await client().chat.completions.create({ model: "chat", messages: user("find inv_1"), tools });
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, "lookup_invoice");
    assert.deepEqual(JSON.parse(call.function.arguments), { id: "inv_1" });
    // The same call streamed: the SDK's helper assembles the arguments.
    const runner = client().chat.completions.stream({ model: "chat", messages: user("find inv_1"), tools });
    const done = await runner.finalChatCompletion();
    assert.deepEqual(JSON.parse(done.choices[0].message.tool_calls[0].function.arguments), { id: "inv_1" });
  },

  async structured() {
    const r = await client().chat.completions.parse({
      model: "chat",
      messages: user("an invoice"),
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "invoice",
          strict: true,
          schema: {
            type: "object",
            properties: { id: { type: "string" }, total: { type: "number" } },
            required: ["id", "total"],
            additionalProperties: false,
          },
        },
      },
    });
    assert.deepEqual(r.choices[0].message.parsed, { id: "inv_1", total: 12.5 });
  },

  async embeddings() {
    // The SDK asks for base64 by default and decodes it: both must give the same numbers.
    const b64 = await client().embeddings.create({ model: "embed", input: ["alpha", "beta"] });
    const floats = await client().embeddings.create({ model: "embed", input: ["alpha", "beta"], encoding_format: "float" });
    assert.equal(b64.data.length, 2);
    assert.equal(b64.data[0].embedding.length, floats.data[0].embedding.length);
    for (const [i, d] of b64.data.entries()) {
      d.embedding.forEach((x, j) => assert.ok(Math.abs(x - floats.data[i].embedding[j]) < 1e-6));
    }
  },

  async completions() {
    const r = await client().completions.create({ model: "chat", prompt: "legacy prompt here" });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0].text, "legacy prompt here");
  },

  async models() {
    const m = await client().models.retrieve("chat");
    assert.equal(m.id, "chat");
    await assert.rejects(client().models.retrieve("nope"), OpenAI.NotFoundError);
  },

  async errors() {
    await assert.rejects(
      client("sk-seam-not-a-key").chat.completions.create({ model: "chat", messages: user("hi") }),
      OpenAI.AuthenticationError,
    );
    await assert.rejects(
      client().chat.completions.create({ model: "no-such-route", messages: user("hi") }),
      OpenAI.NotFoundError,
    );
  },

  // The scenario answers every call 429, then 400.
  async errors_upstream() {
    await assert.rejects(
      client().chat.completions.create({ model: "chat", messages: user("hi") }),
      OpenAI.RateLimitError,
    );
  },
  async errors_bad_request() {
    await assert.rejects(
      client().chat.completions.create({ model: "chat", messages: user("hi") }),
      OpenAI.BadRequestError,
    );
  },

  // The Responses API (`client.responses`), on ROUTE (`CASE@ROUTE`; `chat` passes it
  // through to the sim, `claude` translates it to chat for the sim's Anthropic format).
  async responses(route) {
    const { data, response } = await client()
      .responses.create({ model: route, instructions: "Be brief.", input: "hello from node responses" })
      .withResponse();
    assert.equal(data.object, "response");
    assert.equal(data.status, "completed");
    assert.equal(data.output_text, "hello from node responses");
    assert.equal(data.usage.output_tokens, 4);
    seamCall(response);
  },

  async responses_stream(route) {
    const { data: stream, response } = await client()
      .responses.create({ model: route, input: "one two three", stream: true })
      .withResponse();
    const events = [];
    for await (const event of stream) events.push(event);
    assert.equal(events[0].type, "response.created");
    assert.equal(events.at(-1).type, "response.completed");
    assert.deepEqual(events.map((e) => e.sequence_number), [...events.keys()]);
    const deltas = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
    assert.equal(deltas.join(""), "one two three");
    assert.equal(outputText(events.at(-1).response), "one two three");
    assert.equal(events.at(-1).response.usage.output_tokens, 3);
    seamCall(response);
    // The SDK's stream helper assembles the final Response from the events.
    const final = await client().responses.stream({ model: route, input: "four five" }).finalResponse();
    assert.equal(outputText(final), "four five");
  },

  async responses_tools(route) {
    const tools = [
      {
        type: "function",
        name: "lookup_invoice",
        strict: false,
        parameters: { type: "object", properties: { id: { type: "string" } } },
      },
    ];
    const r = await client().responses.create({ model: route, input: "find inv_1", tools });
    const calls = r.output.filter((o) => o.type === "function_call");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, "lookup_invoice");
    assert.deepEqual(JSON.parse(calls[0].arguments), { id: "inv_1" });
    // Streamed: the arguments arrive as deltas and in the final item.
    const stream = await client().responses.create({ model: route, input: "find inv_1", tools, stream: true });
    let args = "";
    let done;
    for await (const event of stream) {
      if (event.type === "response.function_call_arguments.delta") args += event.delta;
      if (event.type === "response.completed") done = event.response;
    }
    assert.deepEqual(JSON.parse(args), { id: "inv_1" });
    assert.equal(done.output.at(-1).type, "function_call");
    assert.deepEqual(JSON.parse(done.output.at(-1).arguments), { id: "inv_1" });
  },

  async responses_structured(route) {
    const r = await client().responses.parse({
      model: route,
      input: "an invoice",
      text: {
        format: {
          type: "json_schema",
          name: "invoice",
          strict: true,
          schema: {
            type: "object",
            properties: { id: { type: "string" }, total: { type: "number" } },
            required: ["id", "total"],
            additionalProperties: false,
          },
        },
      },
    });
    assert.deepEqual(r.output_parsed, { id: "inv_1", total: 12.5 });
  },

  async responses_errors(route) {
    await assert.rejects(
      client("sk-seam-not-a-key").responses.create({ model: route, input: "hi" }),
      OpenAI.AuthenticationError,
    );
    await assert.rejects(client().responses.create({ model: "no-such-route", input: "hi" }), OpenAI.NotFoundError);
  },
  async responses_errors_upstream(route) {
    await assert.rejects(client().responses.create({ model: route, input: "hi" }), OpenAI.RateLimitError);
  },
  async responses_errors_bad_request(route) {
    await assert.rejects(client().responses.create({ model: route, input: "hi" }), OpenAI.BadRequestError);
  },
};

// Seam's call id, for test_compat.py to find the call's record.
function seamCall(response) {
  const id = response.headers.get("x-seam-call-id");
  assert.ok(id, "no x-seam-call-id");
  console.log(`seam-call ${id}`);
}

// A streamed Response's text (the SDK adds `output_text` to created and parsed Responses only).
function outputText(response) {
  return response.output
    .filter((o) => o.type === "message")
    .flatMap((o) => o.content.filter((c) => c.type === "output_text").map((c) => c.text))
    .join("");
}

const [name, route = "chat"] = process.argv[2].split("@");
if (!cases[name]) {
  console.error(`unknown case ${name}; cases: ${Object.keys(cases).join(", ")}`);
  process.exit(2);
}
await cases[name](route);
console.log(`openai-node ${process.argv[2]}: ok`);
