import { test } from "uvu";
import * as assert from "uvu/assert";
import { mainNav, mayOpen } from "./main-nav.ts";

const texts = (role: string) => mainNav(role, "fleet").map(([, text]) => text);

test("mainNav() lists the pages of each role", () => {
  assert.equal(texts("msp_admin"), ["Clinics", "Escalations", "Billing", "Learning", "Audit log", "Admin"]);
  assert.equal(texts("msp_tech"), ["Clinics", "Escalations", "Learning", "Audit log"]);
  assert.equal(texts("partner_admin"), ["Clinics", "Escalations", "Billing", "Audit log", "Admin"]);
  assert.equal(texts("partner_tech"), ["Clinics", "Escalations", "Audit log"]);
  assert.equal(texts("partner_billing"), ["Billing"]);
  assert.equal(texts("client_owner"), ["Our sites", "Escalations", "Audit log"]);
});

test("mayOpen() opens exactly the pages the role's navigation lists", () => {
  for (const role of ["msp_tech", "partner_tech", "partner_billing", "client_owner", "client_viewer"]) assert.not.ok(mayOpen(role, "admin"), `${role}: no /admin`);
  for (const role of ["msp_admin", "partner_admin"]) assert.ok(mayOpen(role, "admin"), `${role}: /admin`);
  assert.not.ok(mayOpen("partner_tech", "learning"));
  assert.not.ok(mayOpen("client_owner", "billing"));
  assert.ok(mayOpen("client_owner", "site"), "a site belongs to the list of sites");
  assert.ok(mayOpen("partner_billing", "fleet"), "a billing user's home page is billing");
  assert.not.ok(mayOpen("partner_billing", "site"), "a billing user reads no clinic data");
  assert.ok(mayOpen("client_viewer", "not_found"));
});

test.run();
