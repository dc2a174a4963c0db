/**
 * Alert bundles the sync client raises (`system` / `alert` evidence): pushing stopped on an integrity failure,
 * the clock is off from the relay's. Each is raised once per episode: the bundle and the `kv` flag that marks
 * the episode commit in one transaction, so a crash can neither lose the alert nor write it twice, and a
 * restart inside the episode stays quiet.
 */
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { EvidenceDraft } from "../engine/types.ts";
import type { EvidenceLog } from "../evidence/index.ts";
import { readKv, writeKv } from "./kv.ts";

/** Strings in alert details are cut to this (the evidence schema's free-text bound). */
export const MAX_ALERT_TEXT = 256;

/** Longest error text kept in the sync status and the log (relay messages are bounded by MAX_DETAIL_LENGTH already). */
export const MAX_ERROR_TEXT = 1000;

export function clip(text: string, max = MAX_ALERT_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A `system` bundle with outcome `alert` at `now`. */
export function alertDraft(now: number, postState: JsonObject, ntpOffsetMs: number | null = null): EvidenceDraft {
  const at = isoTime(now);
  return { kind: "system", outcome: "alert", timestamps: { started_at: at, finished_at: at }, post_state: postState, ntp_offset_ms: ntpOffsetMs };
}

/**
 * Appends `draft` and sets `key` to `value` in one transaction, unless `key` is already set. Resolves true
 * when it raised the alert, false when the episode was already on record.
 */
export function raiseOnce(evidence: Pick<EvidenceLog, "transaction">, key: string, draft: EvidenceDraft, value: unknown, now: number): Promise<boolean> {
  return evidence.transaction(async (w) => {
    if ((await readKv(w.tx, key)) !== null) return false;
    await w.append([draft]);
    await writeKv(w.tx, key, value, now);
    return true;
  });
}
