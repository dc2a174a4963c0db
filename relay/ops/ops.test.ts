import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { enrolledAppliance, errorOf, inProcess, testRelay } from "../_testing.ts";
import { createRelayApp } from "../app.ts";
import { MAX_AUDIT_PAGE } from "../auth/audit.ts";
import { tokenSha256 } from "../auth/token.ts";
import { queryParams } from "../http/query.ts";
import type { RouteSpec } from "../http/types.ts";
import { ROUTES } from "../routes.ts";

const TOKEN = "prometheus-scrape-token-0123456789";

test("GET /api/openapi.json lists every route of the table with its callers, and nothing else", async () => {
  const relay = await testRelay();
  try {
    const res = await relay.app.request("/api/openapi.json");
    assert.is(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { "x-callers": string[]; security: unknown[]; requestBody?: unknown }>> };
    assert.is(doc.openapi, "3.1.0");
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const table = ROUTES.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`);
    assert.equal(listed.sort(), table.sort());
    assert.equal(doc.paths["/api/sync/push"]!["post"]!["x-callers"], ["appliance"]);
    assert.equal(doc.paths["/api/auth/login"]!["post"]!.security, []);
    const login = doc.paths["/api/auth/login"]!["post"]!.requestBody as { content: { "application/json": { schema: { properties: Record<string, unknown> } } } };
    assert.ok(login.content["application/json"].schema.properties["email"], "request schemas come from the routes' zod schemas");
  } finally {
    await relay.close();
  }
});

test("the OpenAPI document says an order type's params_schema is JSON Schema, and documents a packet summary's optional score_basis", async () => {
  const relay = await testRelay();
  try {
    type Schema = { properties: Record<string, Schema>; items: Schema; description?: string; required?: string[] };
    const doc = (await (await relay.app.request("/api/openapi.json")).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: Schema }> }> }>> };
    const success = (path: string) => doc.paths[path]!["get"]!.responses["200"]!.content["application/json"]!.schema;
    const orderType = success("/api/order-types").properties["order_types"]!.items;
    assert.match(orderType.properties["params_schema"]!.description ?? "", /^JSON Schema \(draft 2020-12\) of the order's params/);
    assert.ok(orderType.required?.includes("params_schema"));
    const summary = success("/api/sites/{site_id}/packets").properties["packets"]!.items.properties["summary"]!;
    assert.equal(Object.keys(summary.properties["score_basis"]!.properties), ["results", "stale", "newest_at"]);
    assert.not.ok(summary.required?.includes("score_basis"), "absent on packets stored before it was kept");
  } finally {
    await relay.close();
  }
});

test("each route's documented success status is the one its handler answers (201 created, 204 without a body, else 200)", () => {
  const wrong: string[] = [];
  for (const r of ROUTES) {
    const src = String(r.handler);
    const answers = /,\s*201\s*\)/.test(src) ? 201 : /c\.body\(null,\s*204\)/.test(src) && !/\bjson\(/.test(src) ? 204 : 200;
    if ((r.status ?? 200) !== answers) wrong.push(`${r.method} ${r.path}: documented ${r.status ?? 200}, answers ${answers}`);
  }
  assert.equal(wrong, []);
});

type Parameter = { name: string; in: string; required: boolean; description?: string; schema: Record<string, unknown> };

test("the OpenAPI document lists each route's query parameters from its RouteSpec.query: name, type, whether required, and a description", async () => {
  const relay = await testRelay();
  try {
    const doc = (await (await relay.app.request("/api/openapi.json")).json()) as { paths: Record<string, Record<string, { parameters?: Parameter[] }>> };
    const queryOf = (path: string, method = "get") => (doc.paths[path]![method]!.parameters ?? []).filter((p) => p.in === "query");
    assert.equal(
      queryOf("/api/audit-log").map((p) => [p.name, p.required, p.schema["type"]]),
      [["site_id", false, "string"], ["before", false, "string"], ["limit", false, "string"]],
    );
    assert.is(queryOf("/api/audit-log").find((p) => p.name === "limit")!.description, `page size, 1 to ${MAX_AUDIT_PAGE}`);
    assert.equal(queryOf("/api/sites/{site_id}/windows/preview").map((p) => [p.name, p.required]), [["rrule", true], ["duration", true], ["tz", false], ["count", false]]);
    assert.equal(queryOf("/api/sites/{site_id}/approvals")[0]!.schema["enum"], ["pending", "approved", "rejected"]);
    assert.equal(queryOf("/api/sync/pull").map((p) => p.name), ["ruleset_version", "since", "appliance_config_version"]);
    // Every documented query parameter says what it is for; a route without RouteSpec.query documents none.
    for (const r of ROUTES) {
      const listed = queryOf(r.path.replace(/:([A-Za-z_]+)/g, "{$1}"), r.method.toLowerCase());
      assert.equal(listed.map((p) => p.name), Object.keys(r.query?.shape ?? {}), `${r.method} ${r.path}`);
      for (const p of listed) assert.ok(p.description && p.description.length > 3, `${r.method} ${r.path} ?${p.name} has no description`);
    }
  } finally {
    await relay.close();
  }
});

/** The relay's source files (not tests or fixtures). */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.startsWith("_")) out.push(path);
  }
  return out;
}

test("no handler reads a query parameter its route does not document: the query is read only through queryParams with the route's own schema", async () => {
  const relayDir = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
  const direct: string[] = [];
  for (const file of await sourceFiles(relayDir)) {
    if (file.endsWith("/http/query.ts")) continue;
    const src = await readFile(file, "utf8");
    if (/\breq\.quer(y|ies)\s*\(/.test(src)) direct.push(file.slice(relayDir.length + 1));
  }
  assert.equal(direct, [], "read the query with http/query.ts queryParams(c, <the route's query schema>)");
  for (const r of ROUTES) {
    const reads = /\bqueryParams\(|\bpullQuery\(/.test(String(r.handler));
    if (reads) assert.ok(r.query, `${r.method} ${r.path} reads query parameters but declares no RouteSpec.query`);
  }

  // At run time: a handler that reads with another schema than its route declares (or none) fails, loudly.
  const declared = z.object({ n: z.string().regex(/^\d+$/, "expected digits").optional().describe("a number") });
  const other = z.object({ secret_flag: z.string().optional() });
  const relay = await testRelay();
  try {
    const route = (query: z.ZodObject | undefined, read: z.ZodObject): RouteSpec => ({
      method: "GET",
      path: "/healthz",
      callers: ["public"],
      summary: "test",
      maxBodyBytes: 1024,
      ...(query ? { query } : {}),
      handler: async (c) => c.json(queryParams(c, read)),
    });
    const app = (query: z.ZodObject | undefined, read: z.ZodObject) => createRelayApp(relay.deps, [route(query, read)]);
    assert.is((await app(declared, other).request("/healthz?secret_flag=1")).status, 500, "another schema than the declared one");
    assert.is((await app(undefined, other).request("/healthz?secret_flag=1")).status, 500, "a route that declares none");
    assert.equal(await (await app(declared, declared).request("/healthz?n=12&n2=x")).json(), { n: "12" });
    assert.equal(await (await app(declared, declared).request("/healthz?n=")).json(), {}, "empty is the same as absent");
    const bad = await app(declared, declared).request("/healthz?n=twelve");
    assert.is(bad.status, 400);
    assert.is((await errorOf(bad)).message, 'n: expected digits, got "twelve"');
  } finally {
    await relay.close();
  }
});

test("GET /metrics needs the monitoring token, then reports ingest, failures, appliances by last sync and queues", async () => {
  const relay = await testRelay();
  try {
    const off = await relay.app.request("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.is(off.status, 401, "metrics are off until a token is configured");
    assert.match((await errorOf(off)).message, /--metrics-token-file/);
    relay.deps.metricsTokenSha256 = tokenSha256(TOKEN);
    assert.is((await relay.app.request("/metrics")).status, 401);
    assert.is((await errorOf(await relay.app.request("/metrics", { headers: { Authorization: "Bearer wrong-token-wrong-token" } }))).code, "token_unknown");

    const a = await enrolledAppliance(relay, inProcess(relay.app));
    await enrolledAppliance(relay, inProcess(relay.app));
    const pushed = await a.push(a.entries(await a.makeBundles(3)));
    assert.is(pushed.status, 200, await pushed.clone().text());
    const res = await relay.app.request("/metrics", { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.is(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^osiris_evidence_bundles_ingested_total 3$/m);
    assert.match(text, /^osiris_appliances\{last_sync="5m"\} 1$/m);
    assert.match(text, /^osiris_appliances\{last_sync="never"\} 1$/m);
    assert.match(text, /^osiris_queue_depth\{queue="orders_pending"\} 0$/m);
    assert.match(text, /^# TYPE osiris_verification_failures_total counter$/m);
    assert.match(text, /^osiris_queue_depth\{queue="escalations_open"\} 0$/m);
    assert.match(text, /^osiris_archive_queue_depth\{state="pending"\} 3$/m, "three bundles wait for the WORM archive (none configured)");
  } finally {
    await relay.close();
  }
});

test.run();
