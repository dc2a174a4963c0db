/**
 * Private helper: collects stdout/stderr chunks under one byte cap (stdout + stderr together) and decodes
 * them as UTF-8 at the end, so a multi-byte character split across chunks decodes correctly.
 */

export type StreamName = "stdout" | "stderr";

export class BoundedOutput {
  readonly #max: number;
  readonly #chunks: Record<StreamName, Uint8Array[]> = { stdout: [], stderr: [] };
  #total = 0;
  #overflowed = false;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Adds a chunk; returns false (and keeps nothing more) once the cap is exceeded. */
  push(stream: StreamName, chunk: Uint8Array): boolean {
    if (this.#overflowed) return false;
    this.#total += chunk.byteLength;
    if (this.#total > this.#max) {
      this.#overflowed = true;
      this.#chunks.stdout = [];
      this.#chunks.stderr = [];
      return false;
    }
    this.#chunks[stream].push(chunk);
    return true;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  text(stream: StreamName): string {
    const parts = this.#chunks[stream];
    const size = parts.reduce((n, p) => n + p.byteLength, 0);
    const all = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.byteLength;
    }
    return new TextDecoder("utf-8", { fatal: false }).decode(all);
  }
}
