/**
 * The relay's MCP server for one authenticated caller: `createMcpServer(deps, principal)` registers the
 * read-only tools (read-tools.ts, catalogue-tool.ts) and the propose-only tools (propose-tools.ts), each
 * closed over the principal, so every call runs with that user's tenant scope. Arguments are validated by
 * the SDK against the zod shapes below (bounded strings) before a tool runs. A RelayError becomes a tool
 * error `code: message` (so another tenant's id reads "not_found: No site … here"); anything else is logged
 * and answered with a generic message.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { PLATFORMS } from "../../protocol/catalogue/mod.ts";
import { ValidationError } from "../../protocol/errors.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { MAX_REASON_CHARS } from "../sites/approvals.ts";
import { runbookCatalogue } from "./catalogue-tool.ts";
import { proposeOrderTool, proposeRunbook } from "./propose-tools.ts";
import { evidenceStatus, listSites, siteCheckResults, siteIncidents } from "./read-tools.ts";

export const MCP_SERVER_NAME = "osiriscare-relay";
export const MCP_SERVER_VERSION = "1.0.0";

const INSTRUCTIONS = `OsirisCare relay: compliance state of the clinics your MSP manages. Every tool sees only your own tenant.
Read: list_sites, then site_check_results / site_incidents / evidence_status for a site id; runbook_catalogue for fixes and their parameters.
Act: propose_runbook and propose_order only file a pending approval request; a person approves it in the dashboard before anything runs.`;

const id = (what: string) => z.string().min(1).max(100).describe(what);
const catalogueId = (what: string) => z.string().min(3).max(70).describe(what);
const hostId = z.string().min(1).max(63).describe("host id as site_check_results lists it (or the appliance's own id)");
const params = z.record(z.string().max(64), z.unknown()).describe("parameters, validated against the params_schema runbook_catalogue gives (JSON Schema)");
const reason = z.string().trim().min(1).max(MAX_REASON_CHARS).describe("why: shown to the person who approves it");

const READ_ONLY = { readOnlyHint: true, openWorldHint: false } as const;
const PROPOSE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

/** The server for one caller, and the names of the tools it registered (json-rpc-guard.ts answers any other name -32602). */
export function createMcpServer(deps: RelayDeps, principal: Principal): { server: McpServer; tools: ReadonlySet<string> } {
  const server = new McpServer({ name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION }, { instructions: INSTRUCTIONS, capabilities: { tools: {} } });
  const tools = new Set<string>();
  const register: McpServer["registerTool"] = (name, config, cb) => {
    tools.add(name);
    return server.registerTool(name, config, cb);
  };

  const answer = async (tool: string, run: () => unknown): Promise<CallToolResult> => {
    const who = { tool, user_id: principal.user_id, api_key_id: principal.api_key_id };
    try {
      const value = await run();
      deps.log.info("mcp_tool", { ...who, ok: true });
      return { content: [{ type: "text", text: JSON.stringify(value) }] };
    } catch (e) {
      if (e instanceof RelayError || e instanceof ValidationError) {
        deps.log.info("mcp_tool", { ...who, ok: false, code: e.code });
        return { isError: true, content: [{ type: "text", text: `${e.code}: ${e.message}` }] };
      }
      deps.log.error("mcp_tool_failed", { ...who, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      return { isError: true, content: [{ type: "text", text: "internal: the tool failed; the relay logged the details" }] };
    }
  };

  register(
    "list_sites",
    {
      title: "List sites",
      description: "Every site (clinic location) you may see: id, name, organisation, compliance score (0-100, or \"no data\"), failing results, results that could not be checked, open incidents, pending approvals, connection and last sync.",
      inputSchema: { query: z.string().trim().max(100).optional().describe("only sites whose site, clinic or partner name contains this") },
      annotations: READ_ONLY,
    },
    (args) => answer("list_sites", () => listSites(deps, principal, args)),
  );
  register(
    "site_check_results",
    {
      title: "Site check results",
      description: "The latest result of every check on every host of a site (30-day window), with expected and actual values, and the site's score by category.",
      inputSchema: { site_id: id("site id from list_sites"), host_id: hostId.optional(), only_failing: z.boolean().optional().describe("only fail and error results") },
      annotations: READ_ONLY,
    },
    (args) => answer("site_check_results", () => siteCheckResults(deps, principal, args)),
  );
  register(
    "site_incidents",
    {
      title: "Site incidents",
      description: "A site's incidents with their healing attempts (tier L1/L2/L3, outcome), integrity incidents of its evidence chains, and escalation tickets. Open ones only unless include_resolved.",
      inputSchema: { site_id: id("site id from list_sites"), include_resolved: z.boolean().optional() },
      annotations: READ_ONLY,
    },
    (args) => answer("site_incidents", () => siteIncidents(deps, principal, args)),
  );
  register(
    "evidence_status",
    {
      title: "Evidence status",
      description: "Per appliance of a site: evidence bundles verified by the relay, the last checkpoint the relay countersigned, and integrity incidents (forks, gaps, bad signatures).",
      inputSchema: { site_id: id("site id from list_sites") },
      annotations: READ_ONLY,
    },
    (args) => answer("evidence_status", () => evidenceStatus(deps, principal, args)),
  );
  register(
    "runbook_catalogue",
    {
      title: "Runbook catalogue",
      description: "Runbooks that fix a check (or all of a platform) with their parameter schemas (JSON Schema), disruptive / needs-approval flags, and the order types you may propose.",
      inputSchema: { check_id: catalogueId("catalogue check id, e.g. linux.failed_services").optional(), platform: z.enum(PLATFORMS).optional(), runbook_id: catalogueId("catalogue runbook id").optional() },
      annotations: READ_ONLY,
    },
    (args) => answer("runbook_catalogue", () => runbookCatalogue(args)),
  );
  register(
    "propose_runbook",
    {
      title: "Propose a runbook",
      description: "Proposes running a catalogue runbook on one host of a site. Files a pending approval request only: nothing runs until a person approves it in the dashboard.",
      inputSchema: {
        site_id: id("site id from list_sites"),
        host_id: hostId,
        runbook_id: catalogueId("catalogue runbook id from runbook_catalogue"),
        params: params.optional(),
        appliance_id: id("the appliance that serves the host (needed only when several do)").optional(),
        dry_run: z.boolean().optional().describe("only report what each step would do"),
        reason,
      },
      annotations: PROPOSE,
    },
    (args) => answer("propose_runbook", () => proposeRunbook(deps, principal, args)),
  );
  register(
    "propose_order",
    {
      title: "Propose an order",
      description: "Proposes a catalogue order (force_scan, discovery_scan, validate_credential, …) to a site's appliance. Files a pending approval request only: nothing is sent until a person approves it.",
      inputSchema: {
        site_id: id("site id from list_sites"),
        order_type: z.string().min(3).max(41).describe("order type from runbook_catalogue's order_types"),
        params: params.optional(),
        appliance_id: id("the appliance to send it to (needed only when the site has several)").optional(),
        reason,
      },
      annotations: PROPOSE,
    },
    (args) => answer("propose_order", () => proposeOrderTool(deps, principal, args)),
  );
  return { server, tools };
}
