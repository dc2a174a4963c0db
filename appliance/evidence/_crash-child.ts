/**
 * Child process of the SIGKILL trials (crash.test.ts): appends batches, acknowledges and prunes in a loop
 * until killed. It reports on stdout (written synchronously, so a line is out before the next step starts):
 *   ready                      store open, loop starting
 *   A <first> <last> <batch>   an append resolved (these seqs are committed)
 *   prune                      a prune pass is starting
 *   P <pruned_through>         it finished
 * Usage: node --import tsx _crash-child.ts <dir> <seed>
 */
import { writeSync } from "node:fs";
import { sha256 } from "../../protocol/hash.ts";
import { isoTime } from "../../protocol/ids.ts";
import { cycleDraft, openFixture } from "./_testing.ts";
import { DEFAULT_RETENTION_DAYS, Retention } from "./retention.ts";

const [dir, seedText] = process.argv.slice(2);
if (!dir || !seedText) throw new Error("usage: _crash-child.ts <dir> <seed>");
const DAY = 24 * 60 * 60_000;
/** Most bundles per batch: a check cycle of a mid-sized site. */
const MAX_BATCH = 40;
/** Newest bundles kept by the child's prunes: small, so prunes delete plenty. */
const KEEP = 30;

let counter = 0;
const rand = (): number => {
  const b = sha256(`${seedText}/${counter++}`);
  return ((b[0]! << 16) | (b[1]! << 8) | b[2]!) / 2 ** 24;
};
const say = (line: string) => writeSync(1, `${line}\n`);

const f = await openFixture(dir, { clock: { now: () => Date.now(), set: () => undefined, advance: () => undefined } });
const retention = new Retention({ store: f.store });
say("ready");
for (let batchNo = 0; ; batchNo++) {
  const r = rand();
  if (r < 0.7) {
    const n = 1 + Math.floor(rand() * MAX_BATCH);
    const label = `s${seedText}-b${batchNo}`;
    const now = Date.now();
    const drafts = Array.from({ length: n }, (_, i) => ({ ...cycleDraft(now, `host-${i}`), post_state: { batch: label } }));
    const { seqs } = await f.log.append(drafts, [{ type: "heartbeat", body: { at: isoTime(now), version: label, ntp_offset_ms: null, backlog: n } }]);
    say(`A ${seqs[0]} ${seqs.at(-1)} ${label}`);
  } else if (r < 0.85) {
    // As the relay does: acknowledge bundles up to some seq and the outbox rows that carried them.
    const head = await f.log.head();
    const evidenceSeq = Math.max(0, head.seq - Math.floor(rand() * 20));
    const rs = await f.store.execute({ sql: "SELECT COALESCE(MAX(outbox_seq), 0) AS m FROM outbox WHERE type = 'evidence' AND json_extract(body, '$.seq') <= ?", args: [evidenceSeq] });
    await f.log.acknowledge({ outboxSeq: Number(rs.rows[0]!.m), evidenceSeq });
  } else {
    say("prune");
    const report = await retention.prune({ now: Date.now() + (DEFAULT_RETENTION_DAYS + 1) * DAY, retentionCount: KEEP, chunkRows: 1 + Math.floor(rand() * 50) });
    say(`P ${report.pruned_through}`);
  }
}
