/** Messages between the kit verifier component and its Web Worker. */
import type { KitReport } from "../../protocol/kit.ts";

export type VerifyRequest = { zip: ArrayBuffer };

export type VerifyMessage =
  | { type: "progress"; done: number; total: number }
  | { type: "report"; report: KitReport; sha256: string }
  | { type: "error"; message: string };
