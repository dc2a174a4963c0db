/**
 * `osiris demo`: the main job (`npm start`). The relay and the appliance daemons are not built yet, so for
 * now it verifies the fixture auditor kit with the real protocol code and prints where each part will run
 * once it lands. It binds nothing and advertises nothing.
 */
import { join } from "node:path";
import { verifyKit } from "../protocol/kit.ts";
import { readKit } from "./evidence-verify.ts";

export const summary = "run the demo (relay + lab appliances on loopback)";

/** Where the demo parts will listen: loopback only, never a LAN address. */
export const DEMO_ENDPOINTS = {
  relayDashboard: "http://127.0.0.1:8787/",
  clientPortal: "http://127.0.0.1:8787/portal/",
  statusPages: ["http://127.0.0.1:8081/ (lab site: Riverside Family Clinic)", "http://127.0.0.1:8082/ (lab site: Lakeside Pediatrics)"],
} as const;

export async function run(_args: string[]): Promise<number> {
  const root = new URL("..", import.meta.url).pathname;
  const kitPath = join(root, "fixtures/kits/valid.zip");
  const report = await verifyKit(await readKit(kitPath));
  console.log("OsirisCare demo");
  console.log(`  evidence: fixture auditor kit ${report.ok ? `verified (${report.bundles} bundles, ${report.appliances.length} appliances)` : `FAILED: ${report.failure.reason}`}`);
  console.log("  not built yet, planned (see README):");
  console.log(`    relay dashboard   ${DEMO_ENDPOINTS.relayDashboard}`);
  console.log(`    client portal     ${DEMO_ENDPOINTS.clientPortal}`);
  for (const s of DEMO_ENDPOINTS.statusPages) console.log(`    status page       ${s}`);
  console.log("  try: osiris evidence verify fixtures/kits/valid.zip");
  return report.ok ? 0 : 1;
}
