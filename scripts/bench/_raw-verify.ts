/**
 * The machine's raw Ed25519 verify speed, measured in the same run as a benchmark so its ratios (ingest, kit
 * verification) compare like with like: one verification at a time, and `batch` at once (what both cores can
 * do), plus the CPU each parallel verification costs. It uses the same native Verifier the code under test
 * uses, i.e. the fastest full verification available here: node:crypto's one-shot verify on the worker threads
 * where the runtime offers it (Node ≥ 20.16, Deno 2), WebCrypto otherwise (`backend` says which). Both run
 * OpenSSL's Ed25519 in Node and measure within noise of each other on the 2-core bench machine.
 */
import { createSigner, createVerifier, nativeVerifyBackend } from "../../protocol/crypto.ts";
import { utf8 } from "../../protocol/encoding.ts";

export interface RawVerify {
  serial: number;
  parallel: number;
  /** CPU microseconds per verification in the parallel run (contention shows less here than in /s). */
  cpuUs: number;
  /** The platform API measured. */
  backend: Awaited<ReturnType<typeof nativeVerifyBackend>>;
}

export async function measureRawVerify(opts: { lineBytes: number; measureMs: number; batch: number }): Promise<RawVerify> {
  const signer = createSigner(crypto.getRandomValues(new Uint8Array(32)));
  const msg = utf8("x".repeat(opts.lineBytes)); // about a bundle line's length
  const sig = await signer.signRaw(msg);
  const verifier = createVerifier(signer.publicKey, "native");
  const measure = async (perCall: number, fn: () => Promise<unknown>) => {
    for (let i = 0; i < 50; i++) await fn();
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < opts.measureMs) {
      await fn();
      n += perCall;
    }
    return n / ((performance.now() - start) / 1000);
  };
  const serial = await measure(1, () => verifier.verifyRaw(msg, sig));
  const before = process.cpuUsage();
  const t = performance.now();
  const parallel = await measure(opts.batch, () => Promise.all(Array.from({ length: opts.batch }, () => verifier.verifyRaw(msg, sig))));
  const used = process.cpuUsage(before);
  const cpuUs = (used.user + used.system) / (parallel * ((performance.now() - t) / 1000));
  return { serial, parallel, cpuUs, backend: await nativeVerifyBackend() };
}
