import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseRoute } from "../router.ts";
import { portalView } from "./portal-route.ts";

test("portalView() gives clinic users the portal at home and on a site's overview and reports", () => {
  for (const role of ["client_owner", "client_viewer"]) {
    assert.equal(portalView(parseRoute("/"), role), { view: "home" });
    assert.equal(portalView(parseRoute("/sites/site_a"), role), { view: "site", siteId: "site_a", tab: "overview" });
    assert.equal(portalView(parseRoute("/sites/site_a/reports"), role), { view: "site", siteId: "site_a", tab: "reports" });
  }
});

test("portalView() leaves the read-only site parts, MSP-only parts and staff users to the dashboard", () => {
  assert.is(portalView(parseRoute("/sites/site_a/devices"), "client_viewer"), null);
  assert.is(portalView(parseRoute("/sites/site_a/settings"), "client_owner"), null, "the site page refuses it: 'cannot see this part'");
  assert.is(portalView(parseRoute("/audit"), "client_owner"), null);
  for (const role of ["msp_admin", "msp_tech", "partner_admin", "partner_tech", "partner_billing", ""]) {
    assert.is(portalView(parseRoute("/"), role), null, role);
    assert.is(portalView(parseRoute("/sites/site_a"), role), null, role);
  }
});

test.run();
