/**
 * Ed25519 signatures with domain separation.
 *
 * Every signature we make covers `"OsirisCare/v1 " + context + "\n" + message`, so a signature made for one
 * kind of message (an evidence bundle) can never be replayed as another (an order). The only exception is the
 * C2SP signed-note format (checkpoints, witness cosignatures), whose bytes are fixed by that spec and which
 * carries its own domain separation (origin line, `cosignature/v1` header); `signRaw`/`verifyRaw` serve it
 * and the RFC 8032 vectors.
 *
 * Two implementations produce and accept exactly the same signatures (Ed25519 is deterministic):
 * - `portable`: @noble/ed25519, pure JS, runs anywhere;
 * - `native`: the platform's Ed25519 (Node 20+, Deno, current browsers), several times faster: WebCrypto
 *   `crypto.subtle`, except that a `Verifier` uses `node:crypto`'s one-shot `verify` where the runtime offers it
 *   (node-crypto.ts): the same OpenSSL verification in Node, on the same worker threads, but with a fraction of
 *   WebCrypto's per-call work on the main thread, which is what limits chain verification and ingest.
 * `auto` uses native when the runtime offers it and falls back to portable otherwise.
 */
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { ByteSlab, bytesEqual, concatBytes, fromHex, toHex, utf8 } from "./encoding.ts";
import { sha256 } from "./hash.ts";
import { nodeCrypto, type NodeCrypto } from "./node-crypto.ts";

// noble's synchronous API needs a SHA-512; the same pure implementation is used in every runtime.
ed.hashes.sha512 = sha512;

/** The kinds of message we sign; each gets its own signing context. */
export const SIGNING_CONTEXTS = ["evidence", "checkpoint", "order", "ruleset", "request", "key_rotation", "enrollment", "appliance_config", "kit_manifest"] as const;
export type SigningContext = (typeof SIGNING_CONTEXTS)[number];

export type Ed25519Impl = "auto" | "native" | "portable";

const CONTEXT_PREFIX = "OsirisCare/v1 ";

/** Each context's prefix as UTF-8, encoded once (every verification of a bundle needs one). */
const CONTEXT_BYTES: ReadonlyMap<string, Uint8Array> = new Map(SIGNING_CONTEXTS.map((c) => [c, utf8(`${CONTEXT_PREFIX}${c}\n`)]));
const utf8Encoder = new TextEncoder();
/** Where `signingInputOfText` takes its buffers from (a cache of memory, no state anyone observes). */
const inputSlab = new ByteSlab();

/** The exact bytes an Ed25519 signature covers for `message` in `context`. */
export function signingInput(context: SigningContext, message: Uint8Array): Uint8Array {
  const prefix = CONTEXT_BYTES.get(context);
  if (!prefix) throw new TypeError(`Unknown signing context ${JSON.stringify(context)}: expected one of ${SIGNING_CONTEXTS.join(", ")}`);
  return concatBytes(prefix, message);
}

/**
 * `signingInput(context, utf8(text))` built in one buffer, without a separate encoding and copy: verifiers
 * prepare one per evidence bundle.
 */
export function signingInputOfText(context: SigningContext, text: string): Uint8Array {
  const prefix = CONTEXT_BYTES.get(context);
  if (!prefix) throw new TypeError(`Unknown signing context ${JSON.stringify(context)}: expected one of ${SIGNING_CONTEXTS.join(", ")}`);
  const out = inputSlab.alloc(prefix.length + text.length); // exact when the text is ASCII
  out.set(prefix);
  const { read, written } = utf8Encoder.encodeInto(text, out.subarray(prefix.length));
  return read === text.length && written === text.length ? out : concatBytes(prefix, utf8(text));
}

export interface KeyPair {
  /** 32-byte Ed25519 seed (RFC 8032 "secret key"). Never serialise it into logs or messages. */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A new key pair from the runtime's CSPRNG (or from a given 32-byte seed, for tests and vectors). */
export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? ed.utils.randomSecretKey();
  checkLength("secret key", secretKey, 32);
  return { secretKey, publicKey: ed.getPublicKey(secretKey) };
}

/** The public key for a 32-byte seed. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  checkLength("secret key", secretKey, 32);
  return ed.getPublicKey(secretKey);
}

/** Short, human-comparable fingerprint of a public key: SHA-256, first 16 bytes, hex in groups of 4. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey).slice(0, 16)).match(/.{4}/g)!.join(":");
}

/**
 * Key ids already computed, by key object: verifiers look up the id of the key in force for every bundle.
 * Each entry keeps a copy of the bytes it was computed from, since a Uint8Array can change after the fact.
 */
const keyIds = new WeakMap<Uint8Array, { bytes: Uint8Array; id: string }>();

/** Stable key id: lower-case hex SHA-256 of the raw public key, first 16 hex digits. */
export function keyId(publicKey: Uint8Array): string {
  const known = keyIds.get(publicKey);
  if (known && bytesEqual(known.bytes, publicKey)) return known.id;
  const id = toHex(sha256(publicKey)).slice(0, 16);
  keyIds.set(publicKey, { bytes: publicKey.slice(), id });
  return id;
}

function checkLength(what: string, bytes: Uint8Array, n: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new TypeError(`Ed25519 ${what} must be ${n} bytes: current length is ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
}

// ---- native (WebCrypto) -------------------------------------------------------------------------------

const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");
const subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle;

/** WebCrypto takes only ArrayBuffer-backed views; copy the rare view over a SharedArrayBuffer. */
function bs(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

async function importNativePrivate(secretKey: Uint8Array): Promise<CryptoKey> {
  return subtle!.importKey("pkcs8", bs(concatBytes(PKCS8_ED25519_PREFIX, secretKey)), { name: "Ed25519" }, false, ["sign"]);
}

async function importNativePublic(publicKey: Uint8Array): Promise<CryptoKey> {
  return subtle!.importKey("raw", bs(publicKey), { name: "Ed25519" }, false, ["verify"]);
}

/** Verifies one message and signature against a key fixed beforehand; resolves false on any error, never rejects. */
type KeyedVerify = (message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

function webCryptoVerify(publicKey: Uint8Array): Promise<KeyedVerify | null> {
  return importNativePublic(publicKey).then(
    (key): KeyedVerify => async (message, signature) => subtle!.verify({ name: "Ed25519" }, key, bs(signature), bs(message)).catch(() => false),
    () => null,
  );
}

/** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410): the raw 32 bytes follow. */
const SPKI_ED25519_PREFIX = fromHex("302a300506032b6570032100");

/** Verification with node:crypto's one-shot `verify` (its callback form runs on the worker threads), or null. */
function nodeVerify(nc: Partial<NodeCrypto> | undefined, publicKey: Uint8Array): KeyedVerify | null {
  if (typeof nc?.createPublicKey !== "function" || typeof nc.verify !== "function") return null;
  const { createPublicKey, verify } = nc as NodeCrypto;
  let key: ReturnType<NodeCrypto["createPublicKey"]>;
  try {
    key = createPublicKey({ key: concatBytes(SPKI_ED25519_PREFIX, publicKey), format: "der", type: "spki" });
  } catch {
    return null;
  }
  return (message, signature) =>
    new Promise<boolean>((resolve) => {
      try {
        verify(null, message, key, signature, (error, ok) => resolve(error === null && ok === true));
      } catch {
        resolve(false);
      }
    });
}

let nodeProbe: Promise<boolean> | undefined;
/** Whether node:crypto's Ed25519 verification is there and right: accepts a good signature, refuses a bad one. */
function hasNodeEd25519Verify(): Promise<boolean> {
  nodeProbe ??= (async () => {
    const kp = generateKeyPair(new Uint8Array(32).fill(7));
    const message = new Uint8Array([1]);
    const check = nodeVerify(nodeCrypto, kp.publicKey);
    if (!check) return false;
    const good = ed.sign(message, kp.secretKey);
    const bad = good.slice();
    bad[0]! ^= 1;
    return (await check(message, good)) && !(await check(message, bad));
  })().catch(() => false);
  return nodeProbe;
}

/** Which platform API native verifiers use here ("none" without native Ed25519): for tests and benchmark reports. */
export async function nativeVerifyBackend(): Promise<"node:crypto" | "webcrypto" | "none"> {
  if (await hasNodeEd25519Verify()) return "node:crypto";
  return (await hasNativeEd25519()) ? "webcrypto" : "none";
}

/** The fastest native verification for one key: node:crypto's if it passed its probe, else WebCrypto's. */
async function nativeVerify(publicKey: Uint8Array): Promise<KeyedVerify | null> {
  return ((await hasNodeEd25519Verify()) && nodeVerify(nodeCrypto, publicKey)) || webCryptoVerify(publicKey);
}

let nativeProbe: Promise<boolean> | undefined;
/** Whether this runtime's WebCrypto supports Ed25519. Probed once: the answer cannot change at run time. */
export function hasNativeEd25519(): Promise<boolean> {
  nativeProbe ??= (async () => {
    if (!subtle) return false;
    try {
      const kp = generateKeyPair(new Uint8Array(32).fill(7));
      const key = await importNativePrivate(kp.secretKey);
      const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, new Uint8Array([1])));
      return ed.verify(sig, new Uint8Array([1]), kp.publicKey);
    } catch {
      return false;
    }
  })();
  return nativeProbe;
}

async function useNative(impl: Ed25519Impl): Promise<boolean> {
  if (impl === "portable") return false;
  const ok = await hasNativeEd25519();
  if (impl === "native" && !ok) throw new Error("Native Ed25519 was requested but this runtime's WebCrypto does not support it");
  return ok;
}

// ---- raw (no context) -----------------------------------------------------------------------------------

/** Plain Ed25519 signature over `message` (RFC 8032). Use `sign` unless a spec fixes the signed bytes. */
export async function signRaw(message: Uint8Array, secretKey: Uint8Array, impl: Ed25519Impl = "auto"): Promise<Uint8Array> {
  checkLength("secret key", secretKey, 32);
  if (await useNative(impl)) {
    return new Uint8Array(await subtle!.sign({ name: "Ed25519" }, await importNativePrivate(secretKey), bs(message)));
  }
  return ed.sign(message, secretKey);
}

/** Plain Ed25519 verification (RFC 8032, cofactorless as in RFC 8032 §5.1.7 and WebCrypto). */
export async function verifyRaw(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, impl: Ed25519Impl = "auto"): Promise<boolean> {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (await useNative(impl)) {
    try {
      return await subtle!.verify({ name: "Ed25519" }, await importNativePublic(publicKey), bs(signature), bs(message));
    } catch {
      return false;
    }
  }
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// ---- with context ---------------------------------------------------------------------------------------

/**
 * Signs `message` for `context` (see the module comment for the exact bytes). Bad arguments, an unknown context
 * included, reject the promise rather than throw synchronously.
 */
export async function sign(context: SigningContext, message: Uint8Array, secretKey: Uint8Array, impl: Ed25519Impl = "auto"): Promise<Uint8Array> {
  return signRaw(signingInput(context, message), secretKey, impl);
}

/** Verifies a signature made by `sign` for the same context. */
export async function verify(context: SigningContext, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, impl: Ed25519Impl = "auto"): Promise<boolean> {
  return verifyRaw(signature, signingInput(context, message), publicKey, impl);
}

/** Something that can sign for one key; lets callers keep the secret key in one place. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(context: SigningContext, message: Uint8Array): Promise<Uint8Array>;
  signRaw(message: Uint8Array): Promise<Uint8Array>;
}

/** A Signer holding one secret key; with the native path the key is imported into WebCrypto once. */
export function createSigner(secretKey: Uint8Array, impl: Ed25519Impl = "auto"): Signer {
  checkLength("secret key", secretKey, 32);
  const publicKey = ed.getPublicKey(secretKey);
  let nativeKey: Promise<CryptoKey | null> | undefined;
  const raw = async (message: Uint8Array): Promise<Uint8Array> => {
    nativeKey ??= useNative(impl).then((ok) => (ok ? importNativePrivate(secretKey) : null));
    const key = await nativeKey;
    if (key) return new Uint8Array(await subtle!.sign({ name: "Ed25519" }, key, bs(message)));
    return ed.sign(message, secretKey);
  };
  return {
    publicKey,
    signRaw: raw,
    sign: async (context, message) => raw(signingInput(context, message)),
  };
}

/** Something that verifies signatures of one public key; imports it into the platform's crypto once. */
export interface Verifier {
  readonly publicKey: Uint8Array;
  verify(context: SigningContext, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  verifyRaw(message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A Verifier for one public key. Hot paths (chain verification, ingest) should use this. */
export function createVerifier(publicKey: Uint8Array, impl: Ed25519Impl = "auto"): Verifier {
  checkLength("public key", publicKey, 32);
  let probe: Promise<KeyedVerify | null> | undefined;
  /** The native verification once the probe has answered (null: portable); verifying then awaits nothing else. */
  let native: KeyedVerify | null | undefined;
  const verifyWith = (check: KeyedVerify | null, message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
    try {
      return check ? check(message, signature) : Promise.resolve(ed.verify(signature, message, publicKey, { zip215: false }));
    } catch {
      return Promise.resolve(false);
    }
  };
  const raw = (message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return Promise.resolve(false);
    if (native !== undefined) return verifyWith(native, message, signature);
    probe ??= useNative(impl).then((ok) => (ok ? nativeVerify(publicKey) : null));
    return probe.then((check) => verifyWith((native = check), message, signature));
  };
  return {
    publicKey,
    verifyRaw: raw,
    verify: async (context, message, signature) => raw(signingInput(context, message), signature),
  };
}
