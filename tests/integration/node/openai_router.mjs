// The official `openai` npm client against sgl-router and against one of its workers directly
// (tests/router/test_router_integration.cpp starts both): the answers must be the same. Greedy
// decoding on stories260K, so the text depends only on the prompt. Exits non-zero on a mismatch.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { clientFetch } from "./client_fetch.mjs";

const worker = new OpenAI({ baseURL: `${process.env.SGL_WORKER_URL}/v1`, apiKey: "none", maxRetries: 0, fetch: clientFetch });
const router = new OpenAI({ baseURL: `${process.env.SGL_ROUTER_URL}/v1`, apiKey: "none", maxRetries: 0, fetch: clientFetch });

const models = await router.models.list();
assert.ok(models.data.length >= 1, "the router lists the workers' model");
const model = models.data[0].id;
assert.deepEqual(models.data.map((m) => m.id), (await worker.models.list()).data.map((m) => m.id));

async function streamed(client, body) {
  let text = "", finish = null, usage = null;
  const s = await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of s) {
    for (const c of chunk.choices) {
      text += c.text ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, finish, completion_tokens: usage?.completion_tokens };
}

for (const prompt of ["Once upon a time", "The little dog", "Lily and Tom went"]) {
  const body = { model, prompt, max_tokens: 24, temperature: 0 };
  const a = await worker.completions.create(body);
  const b = await router.completions.create(body);
  assert.equal(b.choices[0].text, a.choices[0].text, `completion for "${prompt}"`);
  assert.equal(b.choices[0].finish_reason, a.choices[0].finish_reason);
  assert.equal(b.usage.completion_tokens, a.usage.completion_tokens);
  const sa = await streamed(worker, body);
  const sb = await streamed(router, body);
  assert.deepEqual(sb, sa, `streamed completion for "${prompt}"`);
  assert.equal(sb.text, a.choices[0].text, "streamed and whole agree");
  console.log(`ok - "${prompt}" -> ${JSON.stringify(sb.text)}`);
}

// A bad request is the worker's 400, passed through (not retried, not turned into a 5xx).
for (const client of [worker, router]) {
  await assert.rejects(client.completions.create({ model, prompt: "x", max_tokens: -1 }),
    (e) => e instanceof OpenAI.APIError && e.status === 400);
}
console.log("openai client: same answers through the router");
