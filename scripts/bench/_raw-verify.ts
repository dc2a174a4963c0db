/**
 * The machine's raw Ed25519 verify speed, measured in the same run as a benchmark so its ratios (ingest, kit
 * verification) compare like with like: one verification at a time, and many at once (what all cores can do)
 * in the two parallel ways the code under test verifies, plus the CPU each parallel verification costs:
 * - node:crypto's one-shot verify in its callback form (libuv's threads; WebCrypto where node:crypto lacks
 *   Ed25519, `backend` says which), `batch` at once: what `createVerifier` does (kit verification);
 * - the same OpenSSL call made synchronously on worker threads in batches (relay/ingest/verify-pool.ts): what
 *   the relay's ingest does. It needs no callback per verification, so it is the faster of the two (~3–5 %).
 * `parallel` is the better of the two, so a ratio is always against the fastest raw verification here.
 */
import { createSigner, createVerifier, nativeVerifyBackend } from "../../protocol/crypto.ts";
import { utf8 } from "../../protocol/encoding.ts";
import { VerifyPool } from "../../relay/ingest/verify-pool.ts";

export interface RawVerify {
  serial: number;
  /** The best of the two parallel ways below: the machine's verifications per second. */
  parallel: number;
  /** node:crypto's callback form, `batch` at once (libuv's threads). */
  parallelCallback: number;
  /** Synchronous node:crypto verify on worker threads, in batches (relay/ingest/verify-pool.ts, what ingest uses). */
  parallelWorkers: number;
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
  const parallelRun = async (v: typeof verifier, batch: number) => {
    const before = process.cpuUsage();
    const t = performance.now();
    const perS = await measure(batch, () => Promise.all(Array.from({ length: batch }, () => v.verifyRaw(msg, sig))));
    const used = process.cpuUsage(before); // the whole process: worker threads included
    return { perS, cpuUs: (used.user + used.system) / (perS * ((performance.now() - t) / 1000)) };
  };
  const callback = await parallelRun(verifier, opts.batch);
  const pool = new VerifyPool();
  const workers = await parallelRun(pool.verifierFor(signer.publicKey), 256).finally(() => pool.close());
  const best = workers.perS > callback.perS ? workers : callback;
  return { serial, parallel: best.perS, parallelCallback: callback.perS, parallelWorkers: workers.perS, cpuUs: best.cpuUs, backend: await nativeVerifyBackend() };
}

/** Two measurements (before and after the run under test) averaged field by field. */
export function meanRawVerify(a: RawVerify, b: RawVerify): RawVerify {
  const mean = (k: "serial" | "parallel" | "parallelCallback" | "parallelWorkers" | "cpuUs") => (a[k] + b[k]) / 2;
  return { backend: a.backend, serial: mean("serial"), parallel: mean("parallel"), parallelCallback: mean("parallelCallback"), parallelWorkers: mean("parallelWorkers"), cpuUs: mean("cpuUs") };
}
