/**
 * The software version: package.json's `version`, read once. `osiris version` prints it and an appliance
 * reports it in its heartbeats (appliance/daemon/heartbeat.ts), so the MSP's dashboard shows which release
 * each clinic runs. The file sits one level below the package root, here and in the appliance bundle
 * (nixos/bundle-app.sh), so `../package.json` finds it in both.
 */
import { readFileSync } from "node:fs";

export const SOFTWARE_VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string" || pkg.version === "") throw new Error("package.json has no version");
  return pkg.version;
})();
