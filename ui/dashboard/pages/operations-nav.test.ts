import { test } from "uvu";
import * as assert from "uvu/assert";
import { operationsNav } from "./operations-nav.ts";

const texts = (role: string) => operationsNav(role, "fleet").map(([, text]) => text);

test("operationsNav() offers escalations to everyone who sees sites and billing to statement readers only", () => {
  assert.equal(texts("msp_admin"), ["Escalations", "Billing"]);
  assert.equal(texts("msp_tech"), ["Escalations"]);
  assert.equal(texts("partner_admin"), ["Escalations", "Billing"]);
  assert.equal(texts("partner_tech"), ["Escalations"]);
  assert.equal(texts("client_viewer"), ["Escalations"]);
  assert.equal(texts("partner_billing"), ["Billing"], "a billing user reads statements, no clinic data");
});

test("operationsNav() marks the current page, and billing as home for a billing user", () => {
  assert.equal(operationsNav("msp_admin", "escalations"), [["/escalations", "Escalations", true], ["/billing", "Billing", false]]);
  assert.equal(operationsNav("partner_billing", "fleet"), [["/billing", "Billing", true]]);
  assert.equal(operationsNav("msp_admin", "fleet"), [["/escalations", "Escalations", false], ["/billing", "Billing", false]]);
});

test.run();
