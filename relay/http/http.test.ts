import { test } from "uvu";
import * as assert from "uvu/assert";
import { RelayError } from "../errors.ts";
import { parseJsonBody, readBody } from "./body.ts";
import { createRateLimiter } from "./rate-limit.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    assert.instance(e, RelayError);
    return (e as RelayError).code;
  }
}

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.instance(e, RelayError);
    return (e as RelayError).code;
  }
}

test("readBody() stops a streamed body without Content-Length as soon as it passes the limit", async () => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
      if (pulled > 1000) controller.close();
    },
  });
  const req = new Request("http://relay/api/sync/push", { method: "POST", body: stream, duplex: "half" } as RequestInit);
  assert.is(await codeOfAsync(readBody(req, 4096)), "too_large");
  assert.ok(pulled < 10, `read ${pulled} chunks: the rest was never pulled`);
});

test("readBody() refuses a declared Content-Length over the limit before reading, and returns small bodies whole", async () => {
  const big = new Request("http://relay/x", { method: "POST", body: "x".repeat(100), headers: { "content-length": "100" } });
  assert.is(await codeOfAsync(readBody(big, 10)), "too_large");
  const small = await readBody(new Request("http://relay/x", { method: "POST", body: "hello" }), 10);
  assert.is(new TextDecoder().decode(small), "hello");
  assert.is((await readBody(new Request("http://relay/x"), 10)).length, 0);
});

test("parseJsonBody() refuses empty, non-UTF-8 and non-JSON bodies with invalid_json", () => {
  assert.is(codeOf(() => parseJsonBody(new Uint8Array())), "invalid_json");
  assert.is(codeOf(() => parseJsonBody(new Uint8Array([0xff, 0xfe]))), "invalid_json");
  assert.is(codeOf(() => parseJsonBody(new TextEncoder().encode("{"))), "invalid_json");
  assert.equal(parseJsonBody(new TextEncoder().encode('{"a":1}')), { a: 1 });
});

test("the rate limiter allows the limit per window per address, then refuses with retry_after_s", () => {
  const limiter = createRateLimiter(2, 1000, 100);
  limiter.hit("a", 0);
  limiter.hit("a", 10);
  try {
    limiter.hit("a", 20);
    assert.unreachable();
  } catch (e) {
    assert.is((e as RelayError).code, "rate_limited");
    assert.is((e as RelayError).details?.["retry_after_s"], 1);
  }
  limiter.hit("b", 20);
  limiter.hit("a", 1000);
});

test("the rate limiter tracks a bounded number of addresses", () => {
  const limiter = createRateLimiter(1, 60_000, 3);
  for (let i = 0; i < 1000; i++) limiter.hit(`addr-${i}`, 0);
  // The oldest addresses were evicted, so they start a new window instead of being refused.
  assert.is(codeOf(() => limiter.hit("addr-0", 1)), "ok");
  assert.is(codeOf(() => limiter.hit("addr-999", 1)), "rate_limited");
});

test.run();
