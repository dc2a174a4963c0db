import { test } from "uvu";
import * as assert from "uvu/assert";
import { ValidationError } from "../../protocol/errors.ts";
import { endpointFor, loadL2Config } from "./config.ts";

const files: Record<string, string> = {
  "/etc/osiris/l2.yaml": `endpoints:
  "*": { url: "https://api.openai.com/v1/chat/completions", model: gpt-4o-mini, api_key_file: /run/secrets/openai }
  msp_abcdefgh12345678: { url: "http://127.0.0.1:8080/v1/chat/completions", model: llama, timeout_ms: 10000, json_mode: false }
`,
  "/etc/osiris/bad.yaml": `endpoints:\n  "*": { url: "http://llm.example.com/v1/chat/completions", model: x }\n`,
};
const io = { readText: async (p: string) => files[p] ?? Promise.reject(new Error(`ENOENT ${p}`)), fetch };

async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${what}: wrong error ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

test("loadL2Config() reads per-MSP endpoints from a file, a default from flags, and nothing means L2 off", async () => {
  assert.is(await loadL2Config({}, io), undefined);
  const flags = await loadL2Config({ url: "https://llm.msp.example/v1/chat/completions", model: "m", apiKeyFile: "/run/k" }, io);
  assert.equal(endpointFor(flags, "msp_anything123"), { url: "https://llm.msp.example/v1/chat/completions", model: "m", api_key_file: "/run/k", timeout_ms: 20_000, json_mode: true, max_tokens: 800 });
  const cfg = await loadL2Config({ file: "/etc/osiris/l2.yaml" }, io);
  assert.is(endpointFor(cfg, "msp_abcdefgh12345678")?.model, "llama");
  assert.is(endpointFor(cfg, "msp_abcdefgh12345678")?.json_mode, false);
  assert.is(endpointFor(cfg, "msp_other0000000")?.model, "gpt-4o-mini", "the * entry covers every other MSP");
  assert.is(endpointFor(undefined, "msp_abcdefgh12345678"), null);
});

test("loadL2Config() refuses plain http to a remote host, credentials in the URL, and a lone --l2-url, naming the field", async () => {
  await rejects(loadL2Config({ file: "/etc/osiris/bad.yaml" }, io), (e) => e instanceof ValidationError && /endpoints\["\*"\]\.url: must use https/.test(e.message), "http");
  await rejects(loadL2Config({ url: "https://user:sk-live-0123456789@llm.example/v1/chat/completions", model: "m" }, io), (e) => e instanceof ValidationError && /url: must not carry credentials/.test(e.message) && !e.message.includes("sk-live") && !e.message.includes("user:"), "userinfo, and the key in it is not repeated in the error (it reaches the journal)");
  await rejects(loadL2Config({ url: "https://llm.example/v1/chat/completions" }, io), (e) => e instanceof TypeError && /--l2-url and --l2-model/.test(e.message), "lone url");
});

test.run();
