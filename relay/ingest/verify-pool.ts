/**
 * Ed25519 signature checks for ingest on worker threads, in batches.
 *
 * Ingest verifies every bundle's signature, and each check handed to node:crypto's callback form costs the
 * relay's main thread a job set-up and a callback (~15–20 µs of the ~75 µs of main-thread work per bundle)
 * while the main thread also parses, stores and answers HTTP. Here a check costs the main thread one copy of
 * the signed bytes into the current batch; a batch (up to BATCH_ITEMS checks, or whatever is queued when the
 * event loop turns) goes to the worker with the fewest checks outstanding as one message with transferred
 * buffers, the worker verifies synchronously and answers with one byte per check.
 *
 * The answer is exactly node:crypto's `verify` (RFC 8032, the same OpenSSL call the in-thread path makes).
 * Before the first batch the pool proves each worker right: a good signature accepted, a bad one refused; a
 * worker that fails that, fails to start (a runtime without worker threads) or dies leaves its checks to the
 * in-thread verifier (protocol/crypto.ts `createVerifier`), so a check is never lost or answered wrongly,
 * only slower. An idle worker never keeps the process alive (it is ref'd only while it owes answers), and
 * `close` stops them.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { toHex } from "../../protocol/encoding.ts";
import { createVerifier, generateKeyPair, signingInput, signRaw, type Verifier } from "../../protocol/crypto.ts";

/** Checks per message to a worker at most: large enough that messaging costs little, small enough to spread. */
export const BATCH_ITEMS = 32;
/** Worker threads by default: one per core (the main thread mostly waits on them during ingest). */
export const DEFAULT_WORKERS = Math.max(1, Math.min(8, availableParallelism()));
/** Public keys a worker keeps parsed (KeyObjects); beyond this its cache starts again. */
const WORKER_KEY_CACHE = 4096;

/** The worker (exported for tests that wrap it): plain JavaScript (no loader needed), node:crypto's synchronous one-shot verify. */
export const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
const SPKI = Buffer.from("302a300506032b6570032100", "hex");
const keys = new Map();
function keyOf(raw) {
  const id = Buffer.from(raw).toString("base64");
  let k = keys.get(id);
  if (k === undefined) {
    if (keys.size >= ${WORKER_KEY_CACHE}) keys.clear();
    try { k = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: "der", type: "spki" }); } catch { k = null; }
    keys.set(id, k);
  }
  return k;
}
parentPort.on("message", (m) => {
  const n = m.keyOf.length;
  const ok = new Uint8Array(n);
  const keyObjects = m.keys.map(keyOf);
  for (let i = 0; i < n; i++) {
    const k = keyObjects[m.keyOf[i]];
    if (!k) continue;
    try {
      ok[i] = verify(null, m.data.subarray(m.offsets[i], m.offsets[i + 1]), k, m.sigs.subarray(64 * i, 64 * i + 64)) ? 1 : 0;
    } catch { ok[i] = 0; }
  }
  parentPort.postMessage({ id: m.id, ok }, [ok.buffer]);
});
`;

interface Check {
  key: Uint8Array;
  input: Uint8Array;
  signature: Uint8Array;
  resolve: (ok: boolean) => void;
}

interface PoolWorker {
  worker: Worker;
  /** Checks sent and not yet answered, by batch id. */
  pending: Map<number, Check[]>;
  outstanding: number;
  /** Resolves true once the worker answered its probe rightly (false: never use it). */
  ready: Promise<boolean>;
  /** Answered its probe rightly: batches go to it at once. */
  proven: boolean;
  usable: boolean;
}

export interface VerifyPoolOptions {
  workers?: number;
  /** Told when a worker is given up on (failed its probe, errored or exited); its checks run in-thread. */
  onWorkerLost?: (reason: string) => void;
  /** The workers' JavaScript (default: the verifier above). Tests pass failing workers to prove the fallbacks. */
  workerSource?: string;
}

/** Verifiers whose checks run on the pool's workers (ChainVerifierOptions.verifierFor). */
export class VerifyPool {
  readonly #workers: PoolWorker[] = [];
  /** Verifiers by key (hex), for the pool and for in-thread fallbacks; bounded like the workers' caches. */
  readonly #verifiers = new Map<string, Verifier>();
  readonly #fallbacks = new Map<string, Verifier>();
  readonly #onLost: (reason: string) => void;
  readonly #source: string;
  #batch: Check[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;

  constructor(opts: VerifyPoolOptions = {}) {
    this.#onLost = opts.onWorkerLost ?? (() => undefined);
    this.#source = opts.workerSource ?? WORKER_SOURCE;
    const n = opts.workers ?? DEFAULT_WORKERS;
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Cannot start the verify pool: workers must be a non-negative integer, current value is ${opts.workers}`);
    for (let i = 0; i < n; i++) {
      const w = this.#start();
      if (w) this.#workers.push(w);
    }
  }

  /** Workers in use (0: every check runs in-thread). */
  get size(): number {
    return this.#workers.filter((w) => w.usable).length;
  }

  /** A Verifier for `publicKey` whose checks go to the workers. */
  verifierFor = (publicKey: Uint8Array): Verifier => {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return createVerifier(publicKey); // throws the usual TypeError
    const id = toHex(publicKey);
    let v = this.#verifiers.get(id);
    if (!v) {
      if (this.#verifiers.size >= WORKER_KEY_CACHE) this.#verifiers.clear();
      v = this.#pooled(publicKey.slice());
      this.#verifiers.set(id, v);
    }
    return v;
  };

  #pooled(key: Uint8Array): Verifier {
    const verifyRaw = (message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
      if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(message instanceof Uint8Array)) return Promise.resolve(false);
      if (this.#closed || this.#workers.length === 0) return this.#fallback(key).verifyRaw(message, signature);
      // Copies: the caller's buffers may be reused (signingInputOfText hands out slices of a slab).
      return new Promise<boolean>((resolve) => this.#add({ key, input: message.slice(), signature: signature.slice(), resolve }));
    };
    return {
      publicKey: key,
      verifyRaw,
      verify: (context, message, signature) => verifyRaw(signingInput(context, message), signature),
    };
  }

  /** Stops the workers; checks still outstanding finish in-thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    await Promise.all(this.#workers.splice(0).map((w) => this.#retire(w, null)));
  }

  #start(): PoolWorker | null {
    let worker: Worker;
    try {
      worker = new Worker(this.#source, { eval: true });
    } catch (e) {
      this.#onLost(`cannot start a verify worker: ${(e as Error).message}`);
      return null;
    }
    const w: PoolWorker = { worker, pending: new Map(), outstanding: 0, ready: Promise.resolve(false), proven: false, usable: true };
    worker.on("message", (m: { id: number; ok: Uint8Array }) => {
      const checks = w.pending.get(m.id);
      if (!checks) return;
      w.pending.delete(m.id);
      w.outstanding -= checks.length;
      if (w.pending.size === 0) worker.unref();
      checks.forEach((c, i) => c.resolve(m.ok[i] === 1));
    });
    worker.on("error", (e) => void this.#retire(w, `a verify worker failed: ${e.message}`));
    worker.on("exit", (code) => void this.#retire(w, this.#closed ? null : `a verify worker exited (code ${code})`));
    // Idle until sent work; after the listeners, since adding a "message" listener refs the worker again.
    worker.unref();
    w.ready = this.#probe(w);
    return w;
  }

  /** A good signature accepted and a bad one refused, or the worker is not used. */
  async #probe(w: PoolWorker): Promise<boolean> {
    const kp = generateKeyPair(new Uint8Array(32).fill(9));
    const message = new TextEncoder().encode("osiris verify pool probe");
    const good = await signRaw(message, kp.secretKey, "portable");
    const bad = good.slice();
    bad[0]! ^= 1;
    const answers = await new Promise<boolean[]>((resolve) => {
      const got: boolean[] = [];
      const done = (i: number) => (ok: boolean) => {
        got[i] = ok;
        if (got.filter((x) => x !== undefined).length === 2) resolve(got);
      };
      this.#send(w, [
        { key: kp.publicKey, input: message, signature: good, resolve: done(0) },
        { key: kp.publicKey, input: message, signature: bad, resolve: done(1) },
      ]);
    });
    const right = answers[0] === true && answers[1] === false;
    w.proven = right;
    if (!right) void this.#retire(w, "a verify worker answered its probe wrongly");
    return right;
  }

  #add(check: Check): void {
    this.#batch.push(check);
    if (this.#batch.length >= BATCH_ITEMS) this.#flush();
    else if (!this.#flushScheduled) {
      // Whatever is added before the event loop turns goes in one message.
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const checks = this.#batch;
    if (checks.length === 0) return;
    this.#batch = [];
    const usable = this.#workers.filter((w) => w.usable);
    if (usable.length === 0) return this.#runInThread(checks);
    const w = usable.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    if (w.proven) return this.#send(w, checks);
    // Counted now, so the next batches spread over the other workers while this one is being proven.
    w.outstanding += checks.length;
    void w.ready.then((ok) => {
      w.outstanding -= checks.length;
      if (ok && w.usable) this.#send(w, checks);
      else this.#runInThread(checks);
    });
  }

  #send(w: PoolWorker, checks: Check[]): void {
    const id = this.#nextId++;
    const keys: Uint8Array[] = [];
    const keyOf = new Uint16Array(checks.length);
    const offsets = new Uint32Array(checks.length + 1);
    let bytes = 0;
    checks.forEach((c, i) => {
      let k = keys.indexOf(c.key);
      if (k < 0) k = keys.push(c.key) - 1;
      keyOf[i] = k;
      offsets[i] = bytes;
      bytes += c.input.length;
    });
    offsets[checks.length] = bytes;
    const data = new Uint8Array(bytes);
    const sigs = new Uint8Array(64 * checks.length);
    checks.forEach((c, i) => {
      data.set(c.input, offsets[i]!);
      sigs.set(c.signature, 64 * i);
    });
    // Ref'd while it owes answers (someone awaits them), unref'd when idle (it never keeps the process alive).
    if (w.pending.size === 0) w.worker.ref();
    w.pending.set(id, checks);
    w.outstanding += checks.length;
    try {
      w.worker.postMessage({ id, keys, keyOf, offsets, data, sigs }, [keyOf.buffer, offsets.buffer, data.buffer, sigs.buffer]);
    } catch (e) {
      void this.#retire(w, `a verify worker could not be sent work: ${(e as Error).message}`);
    }
  }

  /** Stops using `w` and runs whatever it still owed in-thread (reason null: a normal close). */
  async #retire(w: PoolWorker, reason: string | null): Promise<void> {
    if (!w.usable && w.pending.size === 0) return;
    w.usable = false;
    if (reason) this.#onLost(reason);
    const owed = [...w.pending.values()].flat();
    w.pending.clear();
    w.outstanding = 0;
    this.#runInThread(owed);
    await w.worker.terminate().catch(() => undefined);
  }

  #runInThread(checks: Check[]): void {
    for (const c of checks) void this.#fallback(c.key).verifyRaw(c.input, c.signature).then(c.resolve, () => c.resolve(false));
  }

  #fallback(key: Uint8Array): Verifier {
    const id = toHex(key);
    let v = this.#fallbacks.get(id);
    if (!v) {
      if (this.#fallbacks.size >= WORKER_KEY_CACHE) this.#fallbacks.clear();
      v = createVerifier(key);
      this.#fallbacks.set(id, v);
    }
    return v;
  }
}
