/**
 * The runtime's `node:crypto`, found without importing it: protocol code also runs in browsers, which cannot
 * load `node:` modules, yet Node (≥ 20.16) and Deno 2 hand built-ins out through `process.getBuiltinModule`.
 * hash.ts (SHA-256) and crypto.ts (Ed25519 verification) use it for speed when present and fall back to
 * @noble and WebCrypto when not; each checks what it uses against known answers before relying on it.
 */

/** The parts of `node:crypto` protocol code uses. Strings are hashed as their UTF-8 encoding. */
export interface NodeCrypto {
  hash(algorithm: "sha256", data: Uint8Array | string, outputEncoding: "hex"): string;
  hash(algorithm: "sha256", data: Uint8Array | string, outputEncoding: "buffer"): Uint8Array;
  createPublicKey(key: { key: Uint8Array; format: "der"; type: "spki" }): NodeKeyObject;
  /** One-shot verification; with a callback it runs on the runtime's worker threads. */
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array, callback: (error: Error | null, ok: boolean) => void): void;
}

/** An opaque `KeyObject`. */
export interface NodeKeyObject {
  readonly type: string;
}

/** `node:crypto` when the runtime exposes it through `process.getBuiltinModule`, else undefined. Fixed per process. */
export const nodeCrypto: Partial<NodeCrypto> | undefined = (() => {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("node:crypto");
    return mod !== null && typeof mod === "object" ? (mod as Partial<NodeCrypto>) : undefined;
  } catch {
    return undefined;
  }
})();
