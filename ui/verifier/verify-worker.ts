/**
 * The Web Worker that verifies an auditor kit in the browser, independently of the server that sent it:
 * the same protocol code as `osiris evidence verify` (signatures with @noble/ed25519 — the portable
 * implementation, so no browser crypto is trusted either — hash chains, checkpoints and witness
 * cosignatures). Runs off the main thread so the page stays responsive; reports progress about 20 times.
 */
import { readKitZip } from "../../protocol/kit-files.ts";
import { verifyKit } from "../../protocol/kit.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import type { VerifyMessage, VerifyRequest } from "./messages.ts";

const post = (m: VerifyMessage) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (e: MessageEvent<VerifyRequest>) => {
  try {
    const bytes = new Uint8Array(e.data.zip);
    const sha256 = sha256Hex(bytes);
    const files = readKitZip(bytes);
    let lastShown = -1;
    const report = await verifyKit(files, {
      impl: "portable",
      trustedRelayKeyIds: e.data.trustedRelayKeyIds,
      onProgress: (done, total) => {
        const step = Math.floor((done / Math.max(total, 1)) * 20);
        if (step !== lastShown || done === total) {
          lastShown = step;
          post({ type: "progress", done, total });
        }
      },
    });
    post({ type: "report", report, sha256 });
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
