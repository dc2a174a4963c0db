/**
 * Streamable HTTP for MCP on the relay's web-standard Request/Response (the SDK's
 * `WebStandardStreamableHTTPServerTransport`, no Node adapter needed). Stateless: each POST gets a new
 * server and transport for the authenticated principal and is answered with plain JSON (no SSE stream, no
 * session id), so any relay process behind a load balancer can answer any request and nothing is kept in
 * memory between requests.
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { RelayDeps } from "../deps.ts";
import type { Principal } from "../http/types.ts";
import { guardJsonRpc } from "./json-rpc-guard.ts";
import { createMcpServer } from "./server.ts";

/**
 * Answers one MCP POST. The user guard has already read the body (bounded) into `body`, so the request is
 * rebuilt around those bytes for the SDK, which then checks Accept, Content-Type and JSON-RPC itself;
 * json-rpc-guard.ts answers malformed params and unknown tools -32602 and keeps internal errors' text in the log.
 */
export async function handleMcpPost(deps: RelayDeps, principal: Principal, request: Request, body: Uint8Array): Promise<Response> {
  const { server, tools } = createMcpServer(deps, principal);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true, maxRequestBodySize: Math.max(body.length, 1) });
  await server.connect(transport);
  guardJsonRpc(transport, tools, deps.log, { user_id: principal.user_id, api_key_id: principal.api_key_id });
  try {
    return await transport.handleRequest(new Request(request.url, { method: "POST", headers: request.headers, body: body.slice().buffer }));
  } finally {
    await server.close();
  }
}

/**
 * The answer to GET (a server-to-client SSE stream) and DELETE (end a session): a stateless server has
 * neither, and the MCP spec's answer is 405, which clients treat as "no stream".
 */
export function mcpMethodNotAllowed(): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless; POST JSON-RPC messages" }, id: null }), {
    status: 405,
    headers: { "Content-Type": "application/json", Allow: "POST" },
  });
}
