import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseRoute } from "./router.ts";

test("parseRoute() maps every dashboard address to its page", () => {
  assert.equal(parseRoute("/"), { page: "fleet", query: new URLSearchParams() });
  assert.equal(parseRoute("/sites/site_abc123"), { page: "site", siteId: "site_abc123", tab: "overview" });
  assert.equal(parseRoute("/sites/site_abc123/orders"), { page: "site", siteId: "site_abc123", tab: "orders" });
  assert.equal(parseRoute("/sites/site_abc123/nonsense"), { page: "not_found", path: "/sites/site_abc123/nonsense" });
  assert.equal(parseRoute("/audit", "?site_id=x").page, "audit");
  assert.equal(parseRoute("/admin"), { page: "admin" });
  assert.equal(parseRoute("/escalations", "?status=resolved"), { page: "escalations", query: new URLSearchParams("status=resolved") });
  assert.equal(parseRoute("/billing"), { page: "billing" });
  assert.equal(parseRoute("/verify"), { page: "verify", sha256: null, relayKey: null });
  assert.equal(parseRoute("/verify", `?sha256=${"AB".repeat(32)}`), { page: "verify", sha256: "ab".repeat(32), relayKey: null });
  assert.equal(parseRoute("/verify", "?sha256=not-a-hash"), { page: "verify", sha256: null, relayKey: null }, "anything but 64 hex digits is ignored");
  assert.equal(parseRoute("/verify", "?relay_key=osiriscare.relay/0123456789abcdef"), { page: "verify", sha256: null, relayKey: "osiriscare.relay/0123456789abcdef" }, "the verifier checks the key's form and says what is wrong");
  assert.equal(parseRoute("/elsewhere"), { page: "not_found", path: "/elsewhere" });
});

test("parseRoute() reads an address typed with a trailing slash as the page without it", () => {
  assert.equal(parseRoute("/login/"), { page: "login", next: null });
  assert.equal(parseRoute("/admin/"), { page: "admin" });
  assert.equal(parseRoute("/sites/site_abc123/orders/"), { page: "site", siteId: "site_abc123", tab: "orders" });
  assert.equal(parseRoute("/nonexistent-page/"), { page: "not_found", path: "/nonexistent-page/" });
});

test("parseRoute() keeps the page to return to after login, but only a local path", () => {
  assert.equal(parseRoute("/login", "?next=%2Fsites%2Fsite_x%2Fsettings"), { page: "login", next: "/sites/site_x/settings" });
  assert.equal(parseRoute("/login", "?next=https%3A%2F%2Fevil.example"), { page: "login", next: null });
  assert.equal(parseRoute("/login", "?next=%2F%2Fevil.example"), { page: "login", next: null }, "protocol-relative URLs leave the site");
});

test.run();
