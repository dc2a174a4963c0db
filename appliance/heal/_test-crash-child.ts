/**
 * Child process for the crash-recovery test: starts healing a failing firewall check on a stand-in host
 * whose step never returns, prints STEP_STARTED once the step is running, and waits to be killed (SIGKILL).
 *
 *   node --import tsx appliance/heal/_test-crash-child.ts <database file>
 */
import { openStore } from "../store/index.ts";
import { WIN } from "./_test-fakes.ts";
import { harness } from "./_test-harness.ts";

const path = process.argv[2];
if (!path) throw new TypeError("usage: _test-crash-child.ts <database file>");
const store = await openStore(path, { log: { info: () => undefined } });
const h = await harness({
  facts: { firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } },
  effects: {
    "powershell.script:firewall.enable_all_profiles": () => {
      process.stdout.write("STEP_STARTED\n");
      return "hang";
    },
  },
  store: { store, path, done: async () => store.close() },
  timeouts: { stepMs: 600_000, recheckMs: 600_000 },
});
await h.engine.handleScan(h.host.scan(WIN, ["windows.firewall_profiles"]));
process.stdout.write("UNEXPECTED_FINISH\n");
