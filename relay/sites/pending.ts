/**
 * Drop-shipped appliances waiting to be accepted. They are not in any tenant yet (they registered
 * themselves), so only MSP staff see the list, and it shows MAC addresses and times but only the first
 * characters of each key fingerprint. Accepting one to a site requires the whole fingerprint, read on the
 * appliance's own status page or console: the relay compares it with the one the appliance registered and
 * refuses a mismatch, so the person must have looked at the box they accept — copying from the list is not
 * possible.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import type { RelayDb } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import { acceptPending, listPending, type PendingRecord } from "../enroll/provision.ts";
import { RelayError } from "../errors.ts";

/** Most pending registrations one list returns (newest first). */
export const MAX_PENDING_LISTED = 200;

export const acceptSchema = z.strictObject({ pending_id: z.string().min(1).max(100), fingerprint: z.string().min(1).max(100) });

/** A fingerprint as typed: case, spaces, colons and dashes do not matter. */
export function normaliseFingerprint(text: string): string {
  return text.toLowerCase().replace(/[\s:-]/g, "");
}

/** Characters of the fingerprint the list shows: enough to tell two waiting boxes apart, not to accept one. */
export const FINGERPRINT_HINT_CHARS = 4;

export interface WaitingAppliance {
  id: string;
  macs: string[];
  /** The first characters of the key fingerprint, e.g. `f2e8…`. */
  fingerprint_hint: string;
  first_seen: string;
  last_seen: string;
}

export async function waitingAppliances(db: RelayDb): Promise<WaitingAppliance[]> {
  return (await listPending(db))
    .filter((p) => p.state === "pending")
    .slice(0, MAX_PENDING_LISTED)
    .map((p) => ({ id: p.id, macs: p.macs, fingerprint_hint: `${p.fingerprint.slice(0, FINGERPRINT_HINT_CHARS)}…`, first_seen: p.first_seen, last_seen: p.last_seen }));
}

export async function acceptToSite(db: RelayDb, siteId: string, body: unknown, env: { clock: Clock; accepted_by: string }): Promise<PendingRecord> {
  const input = parseSchema(acceptSchema, body, "accept request");
  const pending = (await listPending(db)).find((p) => p.id === input.pending_id);
  if (!pending) throw new RelayError("pending_unknown", `No pending appliance ${JSON.stringify(input.pending_id)}`);
  if (normaliseFingerprint(input.fingerprint) !== normaliseFingerprint(pending.fingerprint)) {
    throw new RelayError("fingerprint_mismatch", `fingerprint: does not match the one this appliance registered (check the status page or console of the box you are accepting): you typed ${JSON.stringify(input.fingerprint.slice(0, 60))}`);
  }
  return acceptPending(db, input.pending_id, siteId, { clock: env.clock, accepted_by: env.accepted_by });
}
