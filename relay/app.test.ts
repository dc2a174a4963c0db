import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRelayApp, checkRouteTable } from "./app.ts";
import { enrolledAppliance, errorOf, testRelay, type TestRelay } from "./_testing.ts";
import { revokeAppliance } from "./enroll/enroll.ts";
import type { RouteSpec } from "./http/types.ts";
import { PUBLIC_ROUTES, ROUTES } from "./routes.ts";

/** Concrete URL for a route pattern (`:mac` → a MAC). */
function concrete(path: string): string {
  return path.replace(/:mac\b/, "02-00-00-00-00-01").replace(/:[a-z_]+/g, "x");
}

/** Every (method, path) Hono registered, without duplicates (a route's guards register as entries too) and without the app-wide header middleware. */
function registered(relay: TestRelay): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of relay.app.routes) if (!(r.method === "ALL" && r.path === "/*")) seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  return [...seen.values()];
}

/** Whether a registered route is called by appliances (the others, bar the public ones, by users). */
function isApplianceRoute(r: { method: string; path: string }): boolean {
  return ROUTES.some((x) => x.method === r.method && x.path === r.path && x.callers.includes("appliance"));
}

function isMonitorRoute(r: { method: string; path: string }): boolean {
  return ROUTES.some((x) => x.method === r.method && x.path === r.path && x.callers.includes("monitor"));
}

test("every route Hono serves is a row of the route table (no shadow routes)", async () => {
  const relay = await testRelay();
  try {
    const table = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    for (const r of registered(relay)) assert.ok(table.has(`${r.method} ${r.path}`), `${r.method} ${r.path} is registered but not in ROUTES`);
    assert.is(registered(relay).length, ROUTES.length);
  } finally {
    await relay.close();
  }
});

test("the public routes are exactly the allowlist: health, enrollment, drop-ship provisioning and login", () => {
  const publicRoutes = ROUTES.filter((r) => r.callers.includes("public")).map((r) => `${r.method} ${r.path}`);
  assert.equal(publicRoutes.sort(), [...PUBLIC_ROUTES].sort());
  for (const r of ROUTES.filter((x) => x.path.startsWith("/api/sync/"))) assert.equal(r.callers, ["appliance"], `${r.path} must be appliance-only`);
});

test("every non-public route refuses a request without credentials with 401 and a reason", async () => {
  const relay = await testRelay();
  try {
    const walked = registered(relay).filter((r) => !PUBLIC_ROUTES.has(`${r.method} ${r.path}`));
    assert.ok(walked.length >= 15, "the walk must cover the sync and user routes");
    for (const r of walked) {
      const res = await relay.app.request(concrete(r.path), { method: r.method, ...(r.method !== "GET" ? { body: "{}", headers: { "content-type": "application/json" } } : {}) });
      assert.is(res.status, 401, `${r.method} ${r.path} answered ${res.status}`);
      const err = await errorOf(res);
      if (isApplianceRoute(r) || isMonitorRoute(r)) {
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.is(err.code, "token_missing", `${r.method} ${r.path}`);
        assert.match(err.message, isMonitorRoute(r) ? /metrics/i : /bearer token/i);
      } else {
        assert.is(err.code, "login_required", `${r.method} ${r.path}`);
        assert.match(err.message, /log in/i);
      }
    }
  } finally {
    await relay.close();
  }
});

test("every non-public route refuses a revoked appliance with 401 'appliance revoked'", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await revokeAppliance(relay.deps, a.id, "stolen");
    const routes = registered(relay).filter(isApplianceRoute);
    assert.ok(routes.length >= 4);
    for (const r of routes) {
      const res = await a.request(r.method as "GET" | "POST", concrete(r.path), r.method === "POST" ? {} : undefined);
      assert.is(res.status, 401, `${r.method} ${r.path}`);
      const err = await errorOf(res);
      assert.is(err.code, "appliance_revoked");
      assert.is(err.message, "appliance revoked");
    }
  } finally {
    await relay.close();
  }
});

test("every non-public route refuses a token it never issued with 401 token_unknown", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    relay.deps.metricsTokenSha256 = "0".repeat(64);
    for (const r of registered(relay).filter((x) => !PUBLIC_ROUTES.has(`${x.method} ${x.path}`))) {
      const res = await a.request(r.method as "GET" | "POST", concrete(r.path), r.method !== "GET" ? {} : undefined, { token: "A".repeat(43) });
      assert.is(res.status, 401);
      assert.is((await errorOf(res)).code, "token_unknown");
    }
  } finally {
    await relay.close();
  }
});

test("createRelayApp() refuses a public route that is not on the allowlist, and a route with no callers", async () => {
  const relay = await testRelay();
  try {
    const handler: RouteSpec["handler"] = async (c) => c.json({});
    const open: RouteSpec = { method: "GET", path: "/api/secrets", callers: ["public"], summary: "x", maxBodyBytes: 10, handler };
    assert.throws(() => createRelayApp(relay.deps, [...ROUTES, open]), /not on the public allowlist/);
    assert.throws(() => checkRouteTable([{ ...open, callers: [] }]), /declares no callers/);
    assert.throws(() => checkRouteTable([ROUTES[0]!, ROUTES[0]!]), /declared twice/);
  } finally {
    await relay.close();
  }
});

test("GET /healthz answers without credentials", async () => {
  const relay = await testRelay();
  try {
    const res = await relay.app.request("/healthz");
    assert.is(res.status, 200);
    assert.equal(await res.json(), { status: "ok", relay_time: "2026-11-27T12:00:00.000Z" });
  } finally {
    await relay.close();
  }
});

test("an unknown path answers 404 in the error envelope", async () => {
  const relay = await testRelay();
  try {
    const res = await relay.app.request("/api/nope", { method: "POST" });
    assert.is(res.status, 404);
    const err = await errorOf(res);
    assert.is(err.code, "not_found");
    assert.match(err.message, /POST \/api\/nope/);
  } finally {
    await relay.close();
  }
});

test("an error no handler expected answers 500 internal without details, and is logged", async () => {
  const relay = await testRelay();
  try {
    const boom: RouteSpec = { ...ROUTES[0]!, handler: async () => { throw new Error("secret detail"); } };
    const app = createRelayApp(relay.deps, [boom]);
    const res = await app.request("/healthz");
    assert.is(res.status, 500);
    const err = await errorOf(res);
    assert.is(err.code, "internal");
    assert.not.match(err.message, /secret detail/);
    assert.ok(relay.logs.some((l) => l.event === "request_failed" && String(l.fields["error"]).includes("secret detail")));
  } finally {
    await relay.close();
  }
});

test.run();
