import { test } from "uvu";
import * as assert from "uvu/assert";
import { enrolledAppliance, errorOf, inProcess, testRelay } from "../_testing.ts";
import { tokenSha256 } from "../auth/token.ts";
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

test("each route's documented success status is the one its handler answers (201 created, 204 without a body, else 200)", () => {
  const wrong: string[] = [];
  for (const r of ROUTES) {
    const src = String(r.handler);
    const answers = /,\s*201\s*\)/.test(src) ? 201 : /c\.body\(null,\s*204\)/.test(src) && !/\bjson\(/.test(src) ? 204 : 200;
    if ((r.status ?? 200) !== answers) wrong.push(`${r.method} ${r.path}: documented ${r.status ?? 200}, answers ${answers}`);
  }
  assert.equal(wrong, []);
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
