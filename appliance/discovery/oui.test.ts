import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_OUI_TABLE, ouiTable, vendorFor } from "./oui.ts";

test("common clinic vendors are recognised by their OUI, in any case", () => {
  assert.equal(vendorFor("00:1B:A9:12:34:56"), { name: "Brother", kind: "printer" });
  assert.equal(vendorFor("00:11:32:aa:bb:cc"), { name: "Synology", kind: "storage" });
  assert.equal(vendorFor("f0:9f:c2:00:00:01"), { name: "Ubiquiti", kind: "network" });
  assert.equal(vendorFor("00:50:56:00:00:01"), { name: "VMware", kind: "virtual" });
  assert.ok(DEFAULT_OUI_TABLE.size >= 100, `only ${DEFAULT_OUI_TABLE.size} prefixes`);
});

test("an unknown prefix, a malformed MAC and a locally administered (randomised) MAC name no vendor", () => {
  assert.is(vendorFor("12:34:56:78:9a:bc"), null);
  assert.is(vendorFor("0e:1b:a9:12:34:56"), null, "bit 1 of the first octet set: locally administered");
  assert.is(vendorFor("00-1b-a9-12-34-56"), null);
});

test("a custom table is validated: malformed and duplicated prefixes are refused by name", () => {
  assert.throws(() => ouiTable([["X", "printer", ["001ba9"]]]), (e: unknown) => e instanceof TypeError && e.message.includes('"001ba9"'));
  assert.throws(() => ouiTable([["A", "printer", ["00:00:01"]], ["B", "network", ["00:00:01"]]]), (e: unknown) => e instanceof TypeError && e.message.includes("both A and B"));
  assert.equal(vendorFor("aa:00:00:00:00:01", ouiTable([["Acme", "embedded", ["a8:00:00"]]])), null);
  assert.equal(vendorFor("a8:00:00:00:00:01", ouiTable([["Acme", "embedded", ["a8:00:00"]]])), { name: "Acme", kind: "embedded" });
});

test.run();
