/**
 * Child process for crash.test.ts: runs the lab appliance in a tight loop of cycles with a virtual clock that
 * advances 15 minutes per cycle (so drift appears and gets healed) until it is killed with SIGKILL.
 * Time continues from the last evidence written, so restarts never move the clock backwards.
 */
import { randomBytes } from "node:crypto";
import { parseIsoTime } from "../../protocol/ids.ts";
import { loadConfig } from "../config/index.ts";
import { Appliance } from "./appliance.ts";

const config = await loadConfig(process.argv[2]!);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const T0 = Date.UTC(2026, 10, 2, 15);
let now = T0;
const clock = { now: () => now };
const a = await Appliance.open(config, { clock, random: (n) => new Uint8Array(randomBytes(n)), log: quiet });
const last = (await a.evidence.head()).last_time;
now = last ? parseIsoTime(last) + 60_000 : T0;
process.stdout.write("ready\n");
for (let i = 0; ; i++) {
  await a.runCycle({ all: true });
  now += 15 * 60_000;
  process.stdout.write(`cycle ${i}\n`);
}
