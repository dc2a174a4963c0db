/** Messages between the kit verifier component and its Web Worker. */
import type { KitReport } from "../../protocol/kit.ts";

/** `trustedRelayKeyIds`: relay key ids the user gave (from the packet or their IT provider); empty for none. */
export type VerifyRequest = { zip: ArrayBuffer; trustedRelayKeyIds: string[] };

export type VerifyMessage =
  | { type: "progress"; done: number; total: number }
  | { type: "report"; report: KitReport; sha256: string }
  | { type: "error"; message: string };
