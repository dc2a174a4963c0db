/**
 * Following relay key rotations. The pinned set changes only through enrollment or a rotation statement
 * signed by a key already pinned (protocol/key-rotation.ts); the keys a pull *announces* only tell us that
 * there is something to follow. Statements are applied in passes until none adds a key, so a chain
 * K1 → K2 → K3 is followed from K1 whatever order the relay lists it in.
 */
import { relayWitnessName } from "../../protocol/checkpoint.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { verifyRotation } from "../../protocol/key-rotation.ts";
import { MAX_RELAY_KEYS } from "../../protocol/sync.ts";
import type { PinnedRelayKey } from "../identity/index.ts";

/**
 * Where the daemon keeps the rotation statements it followed (kv, a JSON list as the relay served them), so
 * the root helper can check them against its own pinned keys (helpers/trust-anchor.ts) instead of taking
 * the daemon's pinned set on trust.
 */
export const RELAY_KEY_ROTATIONS_KV_KEY = "relay_key_rotations";

/** Most statements read from one answer: every relay key but the first has one, and there are at most MAX_RELAY_KEYS. */
export const MAX_ROTATION_STATEMENTS = 4 * MAX_RELAY_KEYS;

export interface RotationResult {
  /** The new pinned set (old keys kept: what they signed stays verifiable), newest last, at most MAX_RELAY_KEYS. */
  pins: PinnedRelayKey[];
  /** Key ids added. */
  added: string[];
  /** Statements refused for a reason other than "signed by a key we do not pin" (bad signature, malformed). */
  refused: { index: number; reason: string }[];
}

/** Applies every statement that a pinned key (or a key pinned by an earlier statement) verifies. */
export async function followRotations(statements: readonly unknown[], pinned: readonly PinnedRelayKey[]): Promise<RotationResult> {
  const pins = pinned.map((k) => ({ ...k }));
  const added: string[] = [];
  const refused = new Map<number, string>();
  const list = statements.slice(0, MAX_ROTATION_STATEMENTS);
  for (let pass = 0; pass < list.length; pass++) {
    let progress = false;
    for (const [index, statement] of list.entries()) {
      try {
        const next = await verifyRotation(statement, pins.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) })));
        refused.delete(index);
        if (pins.some((k) => k.key_id === next.key_id)) continue;
        pins.push({ key_id: next.key_id, public_key: toHex(next.publicKey), name: relayWitnessName(next.key_id) });
        added.push(next.key_id);
        progress = true;
      } catch (e) {
        if (e instanceof IntegrityError && e.code === "unknown_key") continue; // not (yet) signed by a pinned key
        if (e instanceof IntegrityError || e instanceof ValidationError) refused.set(index, `${e.code}: ${e.message}`);
        else throw e;
      }
    }
    if (!progress) break;
  }
  return { pins: pins.slice(-MAX_RELAY_KEYS), added, refused: [...refused].map(([index, reason]) => ({ index, reason })) };
}
