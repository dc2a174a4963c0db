/**
 * Appliance key rotation (the `rotate_keys` order), appliance side. ARCHITECTURE §5: the relay learns the new
 * key from a statement signed by the current identity key, and never trusts the key for the message carrying it.
 *
 *   1. prepare   the successor is generated and written to its own 0600 file, and noted, before any use
 *                (identity.ts `prepareRotation`; after a crash the same key is offered again);
 *   2. state     `POST /api/sync/rotate-key` with the statement (protocol key-rotation.ts), signed by the
 *                identity key in force; the old key stays in force until the relay accepted;
 *   3. switch    identity / credentials: the row and memory switch in one transaction; evidence: in ONE
 *                evidence transaction, a `system` bundle signed by the old key names the new one (seq N), and
 *                the key switches for N+1 on, so the chain itself records where the new key takes over;
 *   4. forget    only then is the old key's file removed.
 *
 * A rotation interrupted after step 1 is finished by `finishRotations` at the next sync round (the relay answers
 * a statement it already accepted the same way again); one the relay refuses for good is abandoned. So the
 * order reports `deferred`, not `failed`, when the relay was away or its answer was lost (`rotateKeyOrder`).
 */
import { keyId } from "../../protocol/crypto.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { toHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { APPLIANCE_KEY_KINDS, evidenceRotationFields, signApplianceRotation, type ApplianceKeyKind } from "../../protocol/key-rotation.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { EvidenceLog } from "../evidence/index.ts";
import type { ApplianceIdentity, PreparedRotation } from "../identity/index.ts";
import type { Store } from "../store/index.ts";
import { SyncError } from "./errors.ts";
import { expectOk, refusal, type RelayAnswer } from "./relay-http.ts";

/** The relay route that takes rotation statements. */
export const ROTATE_KEY_PATH = "/api/sync/rotate-key";

export interface KeyRotationDeps {
  identity: Pick<ApplianceIdentity, "prepareRotation" | "pendingRotation" | "switchKey" | "abandonRotation" | "identitySigner" | "enrolled">;
  evidence: Pick<EvidenceLog, "transaction">;
  store: Pick<Store, "transaction">;
  clock: Clock;
  log: Pick<Log, "info" | "warn">;
  /** Sends the statement over the appliance's authenticated channel. */
  send: (statement: Envelope) => Promise<RelayAnswer>;
}

export interface RotationResult {
  key: ApplianceKeyKind;
  old_key_id: string;
  new_key_id: string;
}

/** Rotates the `kind` key for order `orderId` (steps 1–4). Throws SyncError when the relay refuses or is away. */
export async function rotateKey(d: KeyRotationDeps, kind: ApplianceKeyKind, orderId: string): Promise<RotationResult> {
  return complete(d, await d.identity.prepareRotation(kind, orderId));
}

/** What a `rotate_keys` order reports. */
export interface KeyRotationOrderResult {
  outcome: "success" | "deferred";
  detail: string;
}

/** Longest relay error text quoted in an order's detail. */
const MAX_QUOTED_ERROR = 300;

/**
 * The `rotate_keys` order: rotates the `kind` key; when the relay was away or its answer was lost, the
 * prepared key is kept for `finishRotations` and the order reports `deferred` saying so. A refusal for good
 * (the rotation is abandoned) and any other error throw, and the order fails.
 */
export async function rotateKeyOrder(d: KeyRotationDeps, kind: ApplianceKeyKind, orderId: string): Promise<KeyRotationOrderResult> {
  try {
    const r = await rotateKey(d, kind, orderId);
    return { outcome: "success", detail: `${r.key} key ${r.old_key_id} replaced by ${r.new_key_id}` };
  } catch (e) {
    if (!(e instanceof SyncError) || (await d.identity.pendingRotation(kind))?.order_id !== orderId) throw e;
    const error = e.message.slice(0, MAX_QUOTED_ERROR);
    d.log.warn("key_rotation_deferred", { key: kind, order_id: orderId, code: e.code, error });
    return { outcome: "deferred", detail: `the relay has not confirmed the new ${kind} key (${error}): the prepared key is kept and the rotation completes at the next sync` };
  }
}

/** Finishes rotations interrupted after step 1; returns the kinds switched. A relay that is away leaves them for later. */
export async function finishRotations(d: KeyRotationDeps): Promise<ApplianceKeyKind[]> {
  const done: ApplianceKeyKind[] = [];
  for (const kind of APPLIANCE_KEY_KINDS) {
    const p = await d.identity.pendingRotation(kind);
    if (!p) continue;
    try {
      await complete(d, p);
      done.push(kind);
    } catch (e) {
      if (!(e instanceof SyncError)) throw e;
      d.log.warn("key_rotation_unfinished", { key: kind, code: e.code, relay_code: e.relayCode ?? null, error: e.message.slice(0, 500) });
    }
  }
  return done;
}

/** A refusal that will not change by asking again (the statement or its order is not acceptable). */
function refusedForGood(answer: RelayAnswer): boolean {
  return answer.status >= 400 && answer.status < 500 && answer.status !== 401 && answer.status !== 408 && answer.status !== 429;
}

async function complete(d: KeyRotationDeps, p: PreparedRotation): Promise<RotationResult> {
  const statement = await signApplianceRotation(
    { appliance_id: d.identity.enrolled().appliance_id, order_id: p.order_id, key: p.kind, old_public_key: toHex(p.old_public_key), new_public_key: toHex(p.new_public_key) },
    d.identity.identitySigner,
    d.clock.now(),
  );
  const answer = await d.send(statement);
  if (refusedForGood(answer)) {
    await d.identity.abandonRotation(p);
    throw refusal(answer, `${p.kind} key rotation (abandoned)`);
  }
  expectOk(answer, `${p.kind} key rotation`);

  let sw: Awaited<ReturnType<KeyRotationDeps["identity"]["switchKey"]>> | undefined;
  try {
    if (p.kind === "evidence") {
      await d.evidence.transaction(async (w) => {
        const at = isoTime(d.clock.now());
        const { seqs } = await w.append([{ ...evidenceRotationFields(p.new_public_key, p.order_id), timestamps: { started_at: at, finished_at: at } }]);
        sw = await d.identity.switchKey(w.tx, p, seqs[0]! + 1);
      });
    } else {
      await d.store.transaction(async (tx) => {
        sw = await d.identity.switchKey(tx, p);
      });
    }
  } catch (e) {
    sw?.undo();
    throw e;
  }
  await sw!.forgetOld();
  const result = { key: p.kind, old_key_id: keyId(p.old_public_key), new_key_id: keyId(p.new_public_key) };
  d.log.info("appliance_key_rotated", { ...result });
  return result;
}
