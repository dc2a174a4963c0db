/**
 * The appliance's time runbook and the `restart_service` order name the time service the NixOS appliance
 * actually runs (nixos/module.nix enables systemd-timesyncd, not chrony), read from the real module file.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile } from "node:fs/promises";
import { defaultsOf } from "./params.ts";
import { getRunbook, validateOrderParams } from "./mod.ts";

const MODULE = new URL("../../nixos/module.nix", import.meta.url);

test("the NixOS appliance module runs systemd-timesyncd and no chrony", async () => {
  const nix = await readFile(MODULE, "utf8");
  assert.match(nix, /services\.timesyncd\.enable = true;/);
  assert.not.match(nix, /services\.chrony\.enable = true/);
});

test("appliance.restart_time_sync restarts systemd-timesyncd.service unless told otherwise", () => {
  const rb = getRunbook("appliance.restart_time_sync");
  assert.equal(defaultsOf(rb.params_schema), { unit: "systemd-timesyncd.service" });
  assert.equal(rb.steps.map((s) => s.action), ["systemd.restart"]);
});

test("the restart_service order accepts systemd-timesyncd.service and no longer offers chronyd.service", () => {
  assert.ok(validateOrderParams("restart_service", { service: "systemd-timesyncd.service" }).ok);
  assert.not.ok(validateOrderParams("restart_service", { service: "chronyd.service" }).ok);
});

test.run();
