/**
 * The OpenAPI 3.1 document, generated from the route table: every route with its callers, summary, body
 * limit, path and query parameters and (where the route declares them) request and response schemas,
 * converted from zod (the query parameters from RouteSpec.query, the schema the handler validates with). Nothing is
 * written by hand, so the document cannot drift from what the relay serves.
 */
import { z } from "zod";
import type { RouteSpec } from "../http/types.ts";

const SECURITY: Record<string, unknown> = {
  appliance: { type: "http", scheme: "bearer", description: "Appliance token from enrollment plus X-Osiris-Timestamp, X-Osiris-Nonce and X-Osiris-Signature (Ed25519 over method, path, body SHA-256, timestamp, nonce)." },
  session: { type: "apiKey", in: "cookie", name: "osiris_session", description: "Browser session from POST /api/auth/login; non-GET requests also send X-CSRF-Token." },
  apiKey: { type: "http", scheme: "bearer", description: "MSP or partner API key (osk_…). Keys of scope `assistant` may only call routes marked x-assistant-keys (the MCP endpoint); no key may call a route marked x-people-only." },
  monitor: { type: "http", scheme: "bearer", description: "The relay's metrics token (--metrics-token-file)." },
};

function schemaOf(t: z.ZodType): unknown {
  try {
    const { $schema: _, ...rest } = z.toJSONSchema(t, { unrepresentable: "any", io: "input" }) as Record<string, unknown>;
    return rest;
  } catch {
    return {};
  }
}

/** A route's query parameters, from its `query` schema: name, required, description and the JSON Schema of the value. */
function queryParameters(query: z.ZodObject): Record<string, unknown>[] {
  const js = schemaOf(query) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, { description, ...schema }]) => ({
    name,
    in: "query",
    required: js.required?.includes(name) ?? false,
    ...(typeof description === "string" ? { description } : {}),
    schema,
  }));
}

export function openApiDocument(routes: readonly RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const params = [...[...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } })), ...(r.query ? queryParameters(r.query) : [])];
    const isPublic = r.callers.includes("public");
    const security = isPublic
      ? []
      : r.callers.includes("appliance")
        ? [{ appliance: [] }]
        : r.callers.includes("monitor")
          ? [{ monitor: [] }]
          : [{ session: [] }, ...(!r.peopleOnly && r.callers.some((c) => c.startsWith("partner_") || c.startsWith("msp_")) ? [{ apiKey: [] }] : [])];
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
      "x-callers": r.callers,
      "x-max-body-bytes": r.maxBodyBytes,
      ...(r.peopleOnly ? { "x-people-only": true } : {}),
      ...(r.assistantKeys ? { "x-assistant-keys": true } : {}),
      security,
      ...(params.length ? { parameters: params } : {}),
      ...(r.request ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(r.request) } } } } : {}),
      responses: {
        [String(r.status ?? 200)]:
          r.status === 204
            ? { description: "Success, no body" }
            : { description: r.status === 201 ? "Created" : "Success", content: { [r.produces ?? "application/json"]: { schema: r.response ? schemaOf(r.response) : {} } } },
        default: { description: "Error: {error: {code, message, details}}", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "OsirisCare relay", version, description: "Every route lists who may call it (x-callers); anything else is refused." },
    paths,
    components: {
      securitySchemes: SECURITY,
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object" } } } },
        },
      },
    },
  };
}
