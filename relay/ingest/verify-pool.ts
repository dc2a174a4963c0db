/**
 * Ed25519 signature checks for ingest on worker threads, in batches.
 *
 * Ingest verifies every bundle's signature, and each check handed to node:crypto's callback form costs the
 * relay's main thread a job set-up and a callback (~15–20 µs of the ~75 µs of main-thread work per bundle)
 * while the main thread also parses, stores and answers HTTP. Here a check costs the main thread one copy of
 * the signed bytes into the current batch; a batch (up to BATCH_ITEMS checks, or whatever is queued when the
 * event loop turns) goes to the worker with the fewest checks outstanding as one message, the worker
 * verifies synchronously and answers with one byte per check.
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

/** Bytes of signed input a batch holds before its buffer grows (a bundle's is ~1.1 KB). */
const BATCH_DATA_BYTES = 48 * 1024;

/**
 * The checks of one message to a worker, their bytes copied once, straight into the buffers the message
 * carries (no buffer per check: the caller's may be reused as soon as it returns, and small ArrayBuffers are
 * what the garbage collector pays most for). Kept until answered, so a lost worker's checks can run in-thread.
 */
class Batch {
  readonly keys: Uint8Array[] = [];
  readonly keyOf = new Uint16Array(BATCH_ITEMS);
  readonly offsets = new Uint32Array(BATCH_ITEMS + 1);
  readonly sigs = new Uint8Array(64 * BATCH_ITEMS);
  readonly resolves: ((ok: boolean) => void)[] = [];
  data = new Uint8Array(BATCH_DATA_BYTES);
  count = 0;

  add(key: Uint8Array, input: Uint8Array, signature: Uint8Array, resolve: (ok: boolean) => void): void {
    let k = this.keys.indexOf(key);
    if (k < 0) k = this.keys.push(key) - 1;
    const at = this.offsets[this.count]!;
    if (at + input.length > this.data.length) {
      const bigger = new Uint8Array(Math.max(2 * this.data.length, at + input.length));
      bigger.set(this.data.subarray(0, at));
      this.data = bigger;
    }
    this.data.set(input, at);
    this.sigs.set(signature, 64 * this.count);
    this.keyOf[this.count] = k;
    this.offsets[this.count + 1] = at + input.length;
    this.resolves.push(resolve);
    this.count++;
  }

  /** What the worker gets (structured clone copies the buffers: the batch keeps its own for a fallback). */
  message(id: number) {
    const n = this.count;
    return { id, keys: this.keys, keyOf: this.keyOf.subarray(0, n), offsets: this.offsets.subarray(0, n + 1), data: this.data.subarray(0, this.offsets[n]), sigs: this.sigs.subarray(0, 64 * n) };
  }

  /** Check `i`'s key, signed input and signature (views into the batch). */
  check(i: number): { key: Uint8Array; input: Uint8Array; signature: Uint8Array } {
    return { key: this.keys[this.keyOf[i]!]!, input: this.data.subarray(this.offsets[i], this.offsets[i + 1]), signature: this.sigs.subarray(64 * i, 64 * i + 64) };
  }
}

interface PoolWorker {
  worker: Worker;
  /** Batches sent and not yet answered, by id. */
  pending: Map<number, Batch>;
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

let probeCaseOnce: Promise<{ publicKey: Uint8Array; message: Uint8Array; good: Uint8Array; bad: Uint8Array }> | undefined;
/** A fixed key, message and its signature, good and with one bit flipped: what every worker is proven with. */
function probeCase() {
  probeCaseOnce ??= (async () => {
    const kp = generateKeyPair(new Uint8Array(32).fill(9));
    const message = new TextEncoder().encode("osiris verify pool probe");
    const good = await signRaw(message, kp.secretKey, "portable");
    const bad = good.slice();
    bad[0]! ^= 1;
    return { publicKey: kp.publicKey, message, good, bad };
  })();
  return probeCaseOnce;
}

/** `cache`'s verifier for `key`, made by `make` when missing; the cache starts again past WORKER_KEY_CACHE keys. */
function byKey(cache: Map<string, Verifier>, key: Uint8Array, make: () => Verifier): Verifier {
  const id = toHex(key);
  let v = cache.get(id);
  if (!v) {
    if (cache.size >= WORKER_KEY_CACHE) cache.clear();
    v = make();
    cache.set(id, v);
  }
  return v;
}

/** Verifiers whose checks run on the pool's workers (ChainVerifierOptions.verifierFor). */
export class VerifyPool {
  readonly #workers: PoolWorker[] = [];
  /** Verifiers by key (hex), for the pool and for in-thread fallbacks; bounded like the workers' caches. */
  readonly #verifiers = new Map<string, Verifier>();
  readonly #fallbacks = new Map<string, Verifier>();
  readonly #onLost: (reason: string) => void;
  readonly #source: string;
  #batch: Batch | null = null;
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
    return byKey(this.#verifiers, publicKey, () => this.#pooled(publicKey.slice()));
  };

  #pooled(key: Uint8Array): Verifier {
    const verifyRaw = (message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
      if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(message instanceof Uint8Array)) return Promise.resolve(false);
      if (this.#closed || this.#workers.length === 0) return this.#fallback(key).verifyRaw(message, signature);
      // Copies: the caller's buffers may be reused (signingInputOfText hands out slices of a slab).
      return new Promise<boolean>((resolve) => this.#add(key, message, signature, resolve));
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
      const batch = w.pending.get(m.id);
      if (!batch) return;
      w.pending.delete(m.id);
      w.outstanding -= batch.count;
      if (w.pending.size === 0) worker.unref();
      batch.resolves.forEach((resolve, i) => resolve(m.ok[i] === 1));
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
    const { publicKey, message, good, bad } = await probeCase();
    const probe = new Batch();
    const answer = (signature: Uint8Array) => new Promise<boolean>((resolve) => probe.add(publicKey, message, signature, resolve));
    const answers = [answer(good), answer(bad)];
    this.#send(w, probe);
    const right = (await answers[0]!) && !(await answers[1]!);
    w.proven = right;
    if (!right) void this.#retire(w, "a verify worker answered its probe wrongly");
    return right;
  }

  #add(key: Uint8Array, input: Uint8Array, signature: Uint8Array, resolve: (ok: boolean) => void): void {
    this.#batch ??= new Batch();
    this.#batch.add(key, input, signature, resolve);
    if (this.#batch.count >= BATCH_ITEMS) this.#flush();
    else if (!this.#flushScheduled) {
      // Whatever is added before the event loop turns goes in one message.
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    const usable = this.#workers.filter((w) => w.usable);
    if (usable.length === 0) return this.#runInThread(batch);
    const w = usable.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    if (w.proven) return this.#send(w, batch);
    // Counted now, so the next batches spread over the other workers while this one is being proven.
    w.outstanding += batch.count;
    void w.ready.then((ok) => {
      w.outstanding -= batch.count;
      if (ok && w.usable) this.#send(w, batch);
      else this.#runInThread(batch);
    });
  }

  #send(w: PoolWorker, batch: Batch): void {
    const id = this.#nextId++;
    // Ref'd while it owes answers (someone awaits them), unref'd when idle (it never keeps the process alive).
    if (w.pending.size === 0) w.worker.ref();
    w.pending.set(id, batch);
    w.outstanding += batch.count;
    try {
      w.worker.postMessage(batch.message(id));
    } catch (e) {
      void this.#retire(w, `a verify worker could not be sent work: ${(e as Error).message}`);
    }
  }

  /** Stops using `w` and runs whatever it still owed in-thread (reason null: a normal close). */
  async #retire(w: PoolWorker, reason: string | null): Promise<void> {
    if (!w.usable && w.pending.size === 0) return;
    w.usable = false;
    if (reason) this.#onLost(reason);
    const owed = [...w.pending.values()];
    w.pending.clear();
    w.outstanding = 0;
    for (const batch of owed) this.#runInThread(batch);
    await w.worker.terminate().catch(() => undefined);
  }

  #runInThread(batch: Batch): void {
    for (let i = 0; i < batch.count; i++) {
      const c = batch.check(i);
      const resolve = batch.resolves[i]!;
      void this.#fallback(c.key).verifyRaw(c.input, c.signature).then(resolve, () => resolve(false));
    }
  }

  #fallback(key: Uint8Array): Verifier {
    return byKey(this.#fallbacks, key, () => createVerifier(key));
  }
}
