/**
 * json-rpc-guard.ts on its own: a stand-in transport and a stand-in SDK (whatever answers the delivered
 * messages), so the internal-error path can be driven without breaking the real SDK.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { memoryLog } from "../log.ts";
import { guardJsonRpc, MCP_INTERNAL_ERROR_MESSAGE } from "./json-rpc-guard.ts";

/** A transport whose SDK side answers every request with `answer`; `sent` is what reached the wire. */
function fakeTransport(answer: (m: JSONRPCMessage) => JSONRPCMessage | undefined): { transport: Transport; sent: JSONRPCMessage[] } {
  const sent: JSONRPCMessage[] = [];
  const transport: Transport = {
    start: async () => {},
    close: async () => {},
    send: async (m) => void sent.push(m),
  };
  transport.onmessage = (m) => {
    const a = answer(m);
    if (a) void transport.send(a);
  };
  return { transport, sent };
}

const tools = new Set(["list_sites"]);

test("guardJsonRpc() answers an internal error with a fixed message and logs the SDK's own text", async () => {
  const { log, entries } = memoryLog();
  const { transport, sent } = fakeTransport((m) => ("id" in m ? { jsonrpc: "2.0", id: m.id, error: { code: -32603, message: "SQLITE_BUSY at /srv/relay/db/index.ts:42" } } : undefined));
  guardJsonRpc(transport, tools, log, { user_id: "usr_1" });
  transport.onmessage!({ jsonrpc: "2.0", id: 7, method: "tools/list" });
  await Promise.resolve();
  assert.equal(sent, [{ jsonrpc: "2.0", id: 7, error: { code: -32603, message: MCP_INTERNAL_ERROR_MESSAGE } }]);
  assert.equal(entries.map((e) => [e.level, e.event, e.fields["error"], e.fields["user_id"]]), [["error", "mcp_internal_error", "SQLITE_BUSY at /srv/relay/db/index.ts:42", "usr_1"]]);
});

test("guardJsonRpc() answers -32602 itself for malformed params and unknown tools, and passes well-formed requests, notifications and unknown methods through", async () => {
  const delivered: JSONRPCMessage[] = [];
  const { log } = memoryLog();
  const { transport, sent } = fakeTransport((m) => void delivered.push(m));
  guardJsonRpc(transport, tools, log, {});
  const ok: JSONRPCMessage[] = [
    { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_sites", arguments: {} } },
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { jsonrpc: "2.0", id: 2, method: "no/such/method", params: { x: 1 } },
  ];
  for (const m of ok) transport.onmessage!(m);
  transport.onmessage!({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { arguments: [] } });
  transport.onmessage!({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "rm_rf" } });
  await Promise.resolve();
  assert.equal(delivered, ok);
  assert.equal(
    sent.map((m) => ("error" in m ? [m.id, m.error.code, m.error.message] : m)),
    [
      [3, -32602, "Invalid params for tools/call: params.name: Invalid input: expected string, received undefined; params.arguments: Invalid input: expected record, received array"],
      [4, -32602, 'Unknown tool: "rm_rf" (tools: list_sites)'],
    ],
  );
});

test.run();
