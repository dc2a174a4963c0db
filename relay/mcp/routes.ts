/**
 * The relay's Model Context Protocol endpoint, `/api/mcp` (streamable HTTP, stateless): MSP technicians
 * point their own AI assistant at it with an MSP API key (`Authorization: Bearer osk_…`; an `assistant` key,
 * which may call nothing else) or use it from a signed-in session. The normal user guard authenticates (401), admits MSP staff only (403) and, for a
 * session, checks CSRF; the tools then run with that principal's tenant scope (server.ts).
 */
import { z } from "zod";
import { MSP_STAFF, type RouteSpec } from "../http/types.ts";
import { handleMcpPost, mcpMethodNotAllowed } from "./transport.ts";

export const MCP_PATH = "/api/mcp";
/** Largest MCP request: a tool call's arguments are a few ids, parameters and a reason (≤ 2000 chars). */
export const MAX_MCP_BODY_BYTES = 64 * 1024;
const EMPTY_BODY = 1024;

const jsonRpc = z.object({ jsonrpc: z.literal("2.0") }).passthrough();

export const MCP_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: MCP_PATH,
    callers: MSP_STAFF,
    assistantKeys: true,
    summary: "Model Context Protocol (streamable HTTP, stateless, JSON answers): read-only tools over your sites and propose-only tools that file approval requests",
    maxBodyBytes: MAX_MCP_BODY_BYTES,
    request: jsonRpc,
    response: jsonRpc,
    handler: async (c, deps) => handleMcpPost(deps, c.var.principal, c.req.raw, c.var.body),
  },
  {
    method: "GET",
    path: MCP_PATH,
    callers: MSP_STAFF,
    assistantKeys: true,
    summary: "MCP server-to-client stream: not offered (405), the endpoint is stateless",
    maxBodyBytes: EMPTY_BODY,
    handler: async () => mcpMethodNotAllowed(),
  },
  {
    method: "DELETE",
    path: MCP_PATH,
    callers: MSP_STAFF,
    assistantKeys: true,
    summary: "MCP session end: not offered (405), the endpoint is stateless",
    maxBodyBytes: EMPTY_BODY,
    handler: async () => mcpMethodNotAllowed(),
  },
];
