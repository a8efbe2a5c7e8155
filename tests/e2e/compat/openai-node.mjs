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

  // Responses API (`client.responses.create`): h-resp adds its cases here.
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`unknown case ${name}; cases: ${Object.keys(cases).join(", ")}`);
  process.exit(2);
}
await cases[name]();
console.log(`openai-node ${name}: ok`);
