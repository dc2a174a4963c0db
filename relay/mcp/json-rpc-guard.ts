/**
 * The JSON-RPC errors the MCP endpoint answers, as the MCP spec (2025-11-25, "Tools → Error handling")
 * defines them. The SDK parses a request's params only after it has taken the request, and answers a
 * malformed one (`tools/call` without a `name`, `arguments` that is not an object) with -32603 "internal
 * error" and zod's issue dump as the message; an unknown tool comes back as a tool result. So, between the
 * transport and the SDK:
 *
 * - a request whose params do not fit its method's schema is answered -32602 (invalid params), naming each
 *   field and what was wrong with it;
 * - `tools/call` of a tool this server does not have is answered -32602, listing the tools;
 * - any -32603 the SDK would still send is logged and answered with a fixed message, never its text.
 *
 * A tool's own arguments (a missing `site_id`, a number where a string belongs) are not a protocol error
 * under the 2025-11-25 spec: the SDK answers them as a tool result with `isError` and a message naming the
 * field, which is what lets an assistant correct itself. Method names the SDK does not serve are left to
 * it (-32601).
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ClientRequestSchema, ErrorCode, isJSONRPCErrorResponse, isJSONRPCRequest, type JSONRPCErrorResponse, type JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { RelayLog } from "../log.ts";

/** Most field problems named in one answer: enough to fix a request, bounded however bad it is. */
const MAX_ISSUES_NAMED = 5;

/** What a caller reads instead of an internal error's own text (which may name files, SQL or stack frames). */
export const MCP_INTERNAL_ERROR_MESSAGE = "Internal error: the relay logged the details";

type RequestSchema = (typeof ClientRequestSchema.options)[number];
const REQUEST_SCHEMAS: ReadonlyMap<string, RequestSchema> = new Map(ClientRequestSchema.options.map((s) => [s.shape.method.value, s]));

function invalidParams(request: JSONRPCRequest, message: string): JSONRPCErrorResponse {
  return { jsonrpc: "2.0", id: request.id, error: { code: ErrorCode.InvalidParams, message } };
}

/** A -32602 answer for a request that does not fit its method's schema, or undefined when it fits. */
export function checkRequest(request: JSONRPCRequest, tools: ReadonlySet<string>): JSONRPCErrorResponse | undefined {
  const schema = REQUEST_SCHEMAS.get(request.method);
  if (!schema) return undefined;
  const parsed = schema.safeParse({ method: request.method, ...(request.params === undefined ? {} : { params: request.params }) });
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, MAX_ISSUES_NAMED).map((i) => `${i.path.length > 0 ? i.path.join(".") : "params"}: ${i.message}`);
    const more = parsed.error.issues.length - issues.length;
    return invalidParams(request, `Invalid params for ${request.method}: ${issues.join("; ")}${more > 0 ? `; and ${more} more` : ""}`);
  }
  if (parsed.data.method === "tools/call" && !tools.has(parsed.data.params.name)) {
    return invalidParams(request, `Unknown tool: ${JSON.stringify(parsed.data.params.name.slice(0, 100))} (tools: ${[...tools].sort().join(", ")})`);
  }
  return undefined;
}

/**
 * Puts the checks above on a transport the SDK is already connected to: requests are checked before the
 * SDK sees them, and its -32603 answers are logged and replaced. `who` goes into the log line.
 */
export function guardJsonRpc(transport: Transport, tools: ReadonlySet<string>, log: RelayLog, who: Record<string, unknown>): void {
  const deliver = transport.onmessage;
  const send = transport.send.bind(transport);
  if (!deliver) throw new TypeError("Cannot guard the MCP transport: connect the server to it first");
  transport.onmessage = (message, extra) => {
    const refused = isJSONRPCRequest(message) ? checkRequest(message, tools) : undefined;
    if (!refused) return deliver(message, extra);
    log.info("mcp_invalid_params", { ...who, method: isJSONRPCRequest(message) ? message.method : null });
    void send(refused).catch((e: unknown) => log.error("mcp_send_failed", { ...who, error: e instanceof Error ? e.message : String(e) }));
  };
  transport.send = async (message, options) => {
    if (isJSONRPCErrorResponse(message) && message.error.code === ErrorCode.InternalError) {
      log.error("mcp_internal_error", { ...who, error: message.error.message });
      return send({ jsonrpc: "2.0", id: message.id, error: { code: ErrorCode.InternalError, message: MCP_INTERNAL_ERROR_MESSAGE } }, options);
    }
    return send(message, options);
  };
}
