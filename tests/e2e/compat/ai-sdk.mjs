// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) against Seam: `node ai-sdk.mjs CASE`, as
// openai-node.mjs. Chat models are `openai.chat(...)`; the provider's default model
// (`openai(...)`) speaks the Responses API (the `responses` cases below).
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, embed, embedMany, generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const { SEAM_BASE_URL: baseURL, SEAM_KEY: apiKey } = process.env;
const provider = (key = apiKey) => createOpenAI({ baseURL, apiKey: key });
const opts = { maxRetries: 0 };

async function rejectsWithStatus(promise, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(APICallError.isInstance(e), `not an APICallError: ${e}`);
    assert.equal(e.statusCode, status);
    return true;
  });
}

const cases = {
  async chat() {
    const r = await generateText({ ...opts, model: provider().chat("chat"), prompt: "hello from the ai sdk" });
    assert.equal(r.text, "hello from the ai sdk");
    assert.equal(r.usage.outputTokens, 5);
  },

  async stream() {
    const r = streamText({ ...opts, model: provider().chat("chat"), prompt: "one two three" });
    let text = "";
    for await (const part of r.textStream) text += part;
    assert.equal(text, "one two three");
    assert.equal((await r.usage).outputTokens, 3);
  },

  async tools() {
    const r = await generateText({
      ...opts,
      model: provider().chat("chat"),
      prompt: "find inv_1",
      tools: {
        lookup_invoice: tool({
          description: "Find an invoice",
          inputSchema: z.object({ id: z.string() }),
        }),
      },
    });
    assert.equal(r.toolCalls.length, 1);
    assert.equal(r.toolCalls[0].toolName, "lookup_invoice");
    assert.deepEqual(r.toolCalls[0].input, { id: "inv_1" });
  },

  async structured() {
    const r = await generateObject({
      ...opts,
      model: provider().chat("chat"),
      prompt: "an invoice",
      schema: z.object({ id: z.string(), total: z.number() }),
    });
    assert.deepEqual(r.object, { id: "inv_1", total: 12.5 });
  },

  async embeddings() {
    const one = await embed({ ...opts, model: provider().embedding("embed"), value: "alpha" });
    const many = await embedMany({ ...opts, model: provider().embedding("embed"), values: ["alpha", "beta"] });
    assert.equal(many.embeddings.length, 2);
    assert.deepEqual(one.embedding, many.embeddings[0]);
    assert.ok(one.embedding.every((x) => Number.isFinite(x) && Math.abs(x) <= 1));
  },

  async errors() {
    await rejectsWithStatus(generateText({ ...opts, model: provider("sk-seam-not-a-key").chat("chat"), prompt: "hi" }), 401);
    await rejectsWithStatus(generateText({ ...opts, model: provider().chat("no-such-route"), prompt: "hi" }), 404);
  },
  async errors_upstream() {
    await rejectsWithStatus(generateText({ ...opts, model: provider().chat("chat"), prompt: "hi" }), 429);
  },
  async errors_bad_request() {
    await rejectsWithStatus(generateText({ ...opts, model: provider().chat("chat"), prompt: "hi" }), 400);
  },

  // The Responses API: the provider's default model, `provider()(ROUTE)` (`CASE@ROUTE`;
  // `chat` passes it through to the sim, `claude` translates it to chat for the sim's
  // Anthropic format).
  async responses(route) {
    const r = await generateText({ ...opts, model: provider()(route), prompt: "hello from the ai sdk responses" });
    assert.equal(r.text, "hello from the ai sdk responses");
    assert.equal(r.usage.outputTokens, 6);
    assert.equal(r.finishReason, "stop");
    seamCall(r.response.headers);
  },

  async responses_stream(route) {
    const r = streamText({ ...opts, model: provider()(route), prompt: "one two three" });
    let text = "";
    for await (const part of r.textStream) text += part;
    assert.equal(text, "one two three");
    assert.equal((await r.usage).outputTokens, 3);
    assert.equal(await r.finishReason, "stop");
    seamCall((await r.response).headers);
  },

  async responses_tools(route) {
    const tools = {
      lookup_invoice: tool({ description: "Find an invoice", inputSchema: z.object({ id: z.string() }) }),
    };
    const r = await generateText({ ...opts, model: provider()(route), prompt: "find inv_1", tools });
    assert.equal(r.toolCalls.length, 1);
    assert.equal(r.toolCalls[0].toolName, "lookup_invoice");
    assert.deepEqual(r.toolCalls[0].input, { id: "inv_1" });
    const s = streamText({ ...opts, model: provider()(route), prompt: "find inv_1", tools });
    const calls = await s.toolCalls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].toolName, "lookup_invoice");
    assert.deepEqual(calls[0].input, { id: "inv_1" });
  },

  // A tool loop: the tool runs, its result goes back as a `function_call_output` item (the
  // scenario answers every step with the call again).
  async responses_tool_loop(route) {
    const tools = {
      lookup_invoice: tool({
        description: "Find an invoice",
        inputSchema: z.object({ id: z.string() }),
        execute: async ({ id }) => ({ id, paid: true }),
      }),
    };
    const r = await generateText({ ...opts, model: provider()(route), prompt: "find inv_1", tools, stopWhen: stepCountIs(2) });
    assert.equal(r.steps.length, 2);
    const sent = r.steps[1].request.body.input;
    const output = sent.find((item) => item.type === "function_call_output");
    assert.equal(output.call_id, r.steps[0].toolCalls[0].toolCallId);
    assert.deepEqual(JSON.parse(output.output), { id: "inv_1", paid: true });
    assert.deepEqual(r.steps[1].toolCalls[0].input, { id: "inv_1" });
  },

  // A conversation carried on with the SDK's own messages. `store: false` makes the SDK send
  // the earlier answer itself rather than an `item_reference` to it, which a route that
  // translates to chat refuses (docs/api.md).
  async responses_conversation(route) {
    const providerOptions = { openai: { store: false } };
    const messages = [{ role: "user", content: "first turn here" }];
    const first = await generateText({ ...opts, model: provider()(route), messages, providerOptions });
    assert.equal(first.text, "first turn here");
    messages.push(...first.response.messages, { role: "user", content: "and the second" });
    const second = await generateText({ ...opts, model: provider()(route), messages, providerOptions });
    assert.ok(second.request.body.input.some((item) => item.role === "assistant"));
    assert.equal(second.text, "and the second");
  },

  async responses_structured(route) {
    const r = await generateObject({
      ...opts,
      model: provider()(route),
      prompt: "an invoice",
      schema: z.object({ id: z.string(), total: z.number() }),
    });
    assert.deepEqual(r.object, { id: "inv_1", total: 12.5 });
  },

  async responses_errors(route) {
    await rejectsWithStatus(generateText({ ...opts, model: provider("sk-seam-not-a-key")(route), prompt: "hi" }), 401);
    await rejectsWithStatus(generateText({ ...opts, model: provider()("no-such-route"), prompt: "hi" }), 404);
  },
  async responses_errors_upstream(route) {
    await rejectsWithStatus(generateText({ ...opts, model: provider()(route), prompt: "hi" }), 429);
  },
  async responses_errors_bad_request(route) {
    await rejectsWithStatus(generateText({ ...opts, model: provider()(route), prompt: "hi" }), 400);
  },
};

// Seam's call id, for test_compat.py to find the call's record.
function seamCall(headers) {
  const id = headers?.["x-seam-call-id"];
  assert.ok(id, "no x-seam-call-id");
  console.log(`seam-call ${id}`);
}

const [name, route = "chat"] = process.argv[2].split("@");
if (!cases[name]) {
  console.error(`unknown case ${name}; cases: ${Object.keys(cases).join(", ")}`);
  process.exit(2);
}
await cases[name](route);
console.log(`ai-sdk ${process.argv[2]}: ok`);
