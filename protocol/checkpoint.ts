/**
 * Checkpoints as C2SP signed notes: c2sp.org/signed-note, c2sp.org/tlog-checkpoint and the Ed25519
 * cosignature/v1 of c2sp.org/tlog-cosignature. The bytes are fixed by those specs, so any C2SP tool (Go's
 * golang.org/x/mod/sumdb/note, transparency-dev witnesses) can check our checkpoints and we can check theirs.
 *
 * A note is `text ‖ "\n" ‖ signature lines`; the text ends with a newline and is separated from the signatures
 * by the last blank line. Each signature line is `— <key name> <base64(key ID[4] ‖ signature)>\n` (U+2014 then
 * a space). The key ID is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key):
 * - type 0x01, an Ed25519 signature over the text: the appliance's signature on its checkpoint;
 * - type 0x04, a witness cosignature: signature = timestamp (u64 big-endian seconds) ‖ Ed25519 signature over
 *   `cosignature/v1\ntime <seconds>\n` ‖ text: the relay's statement that it saw this checkpoint at that time.
 *
 * Verification looks a key up by name *and* key ID and ignores every other line, as the spec requires: that is
 * what lets more witnesses, or a rotated key, be added without breaking older verifiers.
 *
 * Parse errors are ValidationError (`malformed_note`, `malformed_key`); a missing or invalid signature from
 * the key asked for is IntegrityError (`unknown_key`, `bad_signature`); bad arguments are TypeError/RangeError.
 */
import { verifyRaw, type Signer } from "./crypto.ts";
import { concatBytes, fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from "./encoding.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { HASH_SIZE, MAX_TREE_SIZE } from "./merkle.ts";

/** Signature type of a plain Ed25519 note signature (signed-note). */
export const SIG_TYPE_ED25519 = 0x01;
/** Signature type of a timestamped Ed25519 witness cosignature (tlog-cosignature, cosignature/v1). */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
export type NoteKeyType = typeof SIG_TYPE_ED25519 | typeof SIG_TYPE_COSIGNATURE_V1;

/** Signature lines accepted in one note: the spec requires at least 16; 100 is the Go reference's limit. */
export const MAX_NOTE_SIGNATURES = 100;
/** Largest note accepted, in UTF-8 bytes: 100 Ed25519 lines take ~12 KiB; the rest is room for long names. */
export const MAX_NOTE_BYTES = 64 * 1024;

const EM_DASH_SPACE = "\u2014 ";
const ED25519_PUBLIC_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
const KEY_ID_SIZE = 4;
const TIMESTAMP_SIZE = 8;
/** Unicode White_Space, what Go's unicode.IsSpace (used by the reference implementation) rejects in names. */
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
/** ASCII control characters other than newline: forbidden anywhere in a note. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TREE_SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const KEY_ID_RE = /^[0-9a-f]{8}$/;
const ENTITY_ID_RE = /^[a-z]+_[0-9a-z]{8,40}$/;
const RELAY_KEY_ID_RE = /^[0-9a-f]{16}$/;

/** One signature line of a note. */
export interface NoteSignature {
  /** Key name, as written on the line. */
  readonly name: string;
  /** Key ID: the first 4 decoded bytes, as 8 lower-case hex digits. */
  readonly keyId: string;
  /** The bytes after the key ID (for cosignature/v1: timestamp ‖ Ed25519 signature). */
  readonly signature: Uint8Array;
  /** The base64 field exactly as it appeared on the line. */
  readonly base64: string;
}

/** A parsed (not yet verified) signed note. */
export interface Note {
  /** The signed text, ending with a newline. Untrusted until a signature from a trusted key verifies. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A tlog-checkpoint note body. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Extension lines after the root (NOT RECOMMENDED by the spec, but signed and preserved). */
  extensions: string[];
}

/** What signs a note: any holder of an Ed25519 key; crypto.ts's `createSigner` returns one. */
export type NoteSigner = Pick<Signer, "publicKey" | "signRaw">;

/** A verifier key (vkey) `<name>+<key ID>+<base64(type ‖ public key)>`, parsed. */
export interface VerifierKey {
  name: string;
  keyId: string;
  type: NoteKeyType;
  publicKey: Uint8Array;
}

// ---- names and key IDs -------------------------------------------------------------------------------

/** Whether `name` may name a key: non-empty, no Unicode spaces, no `+`, no control characters. */
export function isValidKeyName(name: string): boolean {
  return typeof name === "string" && name !== "" && !UNICODE_SPACE.test(name) && !name.includes("+") && !CONTROL.test(name) && !LONE_SURROGATE.test(name);
}

function checkKeyName(action: string, name: string): void {
  if (!isValidKeyName(name)) {
    throw new TypeError(`Cannot ${action}: key name ${JSON.stringify(name)} must be non-empty and contain no spaces, '+' or control characters`);
  }
}

function checkPublicKey(action: string, publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    const got = publicKey instanceof Uint8Array ? `${publicKey.length} bytes` : typeof publicKey;
    throw new TypeError(`Cannot ${action}: an Ed25519 public key is ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${got}`);
  }
}

/** Key ID of a key: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], as 8 lower-case hex digits. */
export function noteKeyId(name: string, type: NoteKeyType, publicKey: Uint8Array): string {
  return toHex(sha256(concatBytes(utf8(`${name}\n`), new Uint8Array([type]), publicKey)).subarray(0, KEY_ID_SIZE));
}

/** Checkpoint origin (and key name) of an appliance's evidence log: `osiriscare.appliance/<appliance_id>`. */
export function applianceOrigin(applianceId: string): string {
  if (!ENTITY_ID_RE.test(applianceId)) {
    throw new TypeError(`Cannot form checkpoint origin: appliance id ${JSON.stringify(applianceId)} does not match ${ENTITY_ID_RE}`);
  }
  return `osiriscare.appliance/${applianceId}`;
}

const RELAY_WITNESS_PREFIX = "osiriscare.relay/";

/** Witness key name of a relay key: `osiriscare.relay/<key_id>` (key_id as crypto.ts `keyId`). */
export function relayWitnessName(relayKeyId: string): string {
  if (!RELAY_KEY_ID_RE.test(relayKeyId)) {
    throw new TypeError(`Cannot form witness name: relay key id ${JSON.stringify(relayKeyId)} must be 16 lower-case hex digits`);
  }
  return `${RELAY_WITNESS_PREFIX}${relayKeyId}`;
}

/** The relay key id that a witness name (as packets print it) or a bare key id names; null when it is neither. */
export function relayKeyIdOf(text: string): string | null {
  const id = text.startsWith(RELAY_WITNESS_PREFIX) ? text.slice(RELAY_WITNESS_PREFIX.length) : text;
  return RELAY_KEY_ID_RE.test(id) ? id : null;
}

// ---- verifier keys ------------------------------------------------------------------------------------

/** Verifier key `<name>+<hex key ID>+<base64(type ‖ public key)>` for an Ed25519 key (type 0x01 by default). */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type: NoteKeyType = SIG_TYPE_ED25519): string {
  checkKeyName("format verifier key", name);
  checkPublicKey("format verifier key", publicKey);
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) throw new TypeError(`Cannot format verifier key: unsupported signature type ${type}`);
  return `${name}+${noteKeyId(name, type, publicKey)}+${toBase64(concatBytes(new Uint8Array([type]), publicKey))}`;
}

function badKey(vkey: unknown, why: string): never {
  const shown = typeof vkey === "string" ? JSON.stringify(vkey.slice(0, 120)) : typeof vkey;
  throw new ValidationError("malformed_key", `Malformed verifier key ${shown}: ${why}`);
}

/** Parses and checks a verifier key: Ed25519 types 0x01 and 0x04 only, and the key ID must match the key. */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== "string") badKey(vkey, "not a string");
  const i1 = vkey.indexOf("+"), i2 = vkey.indexOf("+", i1 + 1);
  if (i1 < 0 || i2 < 0) badKey(vkey, "expected <name>+<key ID>+<key>");
  const name = vkey.slice(0, i1), id = vkey.slice(i1 + 1, i2).toLowerCase(), b64 = vkey.slice(i2 + 1);
  if (!isValidKeyName(name)) badKey(vkey, "the name is empty or contains spaces or control characters");
  if (!KEY_ID_RE.test(id)) badKey(vkey, "the key ID must be 8 hex digits");
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(b64);
  } catch {
    return badKey(vkey, "the key is not standard padded base64");
  }
  const type = bytes[0];
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) badKey(vkey, `unsupported signature type ${type ?? "(none)"}`);
  if (bytes.length !== 1 + ED25519_PUBLIC_KEY_SIZE) badKey(vkey, `an Ed25519 key is ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${bytes.length - 1}`);
  const publicKey = bytes.slice(1);
  const keyId = noteKeyId(name, type, publicKey);
  if (keyId !== id) badKey(vkey, `the key ID ${id} does not match the key (expected ${keyId})`);
  return { name, keyId, type, publicKey };
}

// ---- notes --------------------------------------------------------------------------------------------

function malformed(why: string, details?: Record<string, unknown>): never {
  throw new ValidationError("malformed_note", `Malformed note: ${why}`, details);
}

/** Why `text` cannot be note text (or a whole note), or null if it can. */
function textProblem(text: string): string | null {
  if (typeof text !== "string") return "not a string";
  // UTF-8 is never shorter than the UTF-16 length, so this bounds the work before encoding.
  if (text.length > MAX_NOTE_BYTES || utf8(text).length > MAX_NOTE_BYTES) return `longer than ${MAX_NOTE_BYTES} bytes`;
  if (LONE_SURROGATE.test(text)) return "not valid Unicode (lone surrogate)";
  const c = CONTROL.exec(text);
  if (c) {
    const line = text.slice(0, c.index).split("\n").length;
    return `control character U+${c[0].charCodeAt(0).toString(16).padStart(4, "0")} on line ${line}`;
  }
  return null;
}

/**
 * Parses a signed note (text or UTF-8 bytes) strictly: valid UTF-8 without control characters, a text ending
 * in a newline, a blank line, then 1 to MAX_NOTE_SIGNATURES well-formed signature lines. Verifies nothing.
 */
export function parseNote(input: string | Uint8Array): Note {
  let all: string;
  if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_BYTES) malformed(`longer than ${MAX_NOTE_BYTES} bytes`, { bytes: input.length });
    try {
      all = fromUtf8(input);
    } catch {
      return malformed("not valid UTF-8");
    }
  } else {
    all = input;
  }
  const problem = textProblem(all);
  if (problem) malformed(problem);

  const split = all.lastIndexOf("\n\n");
  if (split < 0) malformed("no blank line separates the text from the signature lines");
  const text = all.slice(0, split + 1), block = all.slice(split + 2);
  if (block === "" || !block.endsWith("\n")) malformed("the signature lines must be non-empty and end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) malformed(`${lines.length} signature lines, more than the ${MAX_NOTE_SIGNATURES} accepted`);

  const signatures = lines.map((line, i): NoteSignature => {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(EM_DASH_SPACE)) malformed(`${where} does not start with an em dash (U+2014) and a space`);
    const rest = line.slice(EM_DASH_SPACE.length), space = rest.indexOf(" ");
    if (space < 0) malformed(`${where} has no space between the key name and the signature`);
    const name = rest.slice(0, space), base64 = rest.slice(space + 1);
    if (!isValidKeyName(name)) malformed(`${where} has an invalid key name ${JSON.stringify(name)}`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(base64);
    } catch {
      return malformed(`${where} (${name}) is not standard padded base64`);
    }
    if (bytes.length <= KEY_ID_SIZE) malformed(`${where} (${name}) is too short: ${bytes.length} bytes`);
    return { name, keyId: toHex(bytes.subarray(0, KEY_ID_SIZE)), signature: bytes.slice(KEY_ID_SIZE), base64 };
  });
  return { text, signatures };
}

/** Serialises a note: its text, a blank line, then its signature lines as they were read or made. */
export function formatNote(note: Note): string {
  const problem = textProblem(note.text);
  if (problem || !note.text.endsWith("\n")) throw new TypeError(`Cannot format note: its text is ${problem ?? "not newline-terminated"}`);
  if (note.signatures.length === 0) throw new TypeError("Cannot format note: a signed note needs at least one signature line");
  return `${note.text}\n${note.signatures.map((s) => `${EM_DASH_SPACE}${s.name} ${s.base64}\n`).join("")}`;
}

function checkBody(action: string, body: string): void {
  const problem = textProblem(body) ?? (body.endsWith("\n") ? null : "not newline-terminated");
  if (problem) throw new TypeError(`Cannot ${action}: the note text is ${problem}`);
}

function makeSignature(name: string, keyId: string, signature: Uint8Array): NoteSignature {
  return { name, keyId, signature, base64: toBase64(concatBytes(fromHex(keyId), signature)) };
}

/** The note with `sig` added, replacing any earlier line from the same key (same name and key ID). */
function withSignature(note: Note, sig: NoteSignature): string {
  const others = note.signatures.filter((s) => !(s.name === sig.name && s.keyId === sig.keyId));
  if (others.length >= MAX_NOTE_SIGNATURES) {
    throw new RangeError(`Cannot add a signature: the note already has ${others.length} lines, the most a verifier accepts`);
  }
  return formatNote({ text: note.text, signatures: [...others, sig] });
}

/**
 * Signs `body` (note text ending in a newline) with an Ed25519 key as `name`; or, given a parsed note, adds
 * this key's signature to it. Returns the whole note.
 */
export async function signNote(body: string | Note, name: string, signer: NoteSigner): Promise<string> {
  const note: Note = typeof body === "string" ? { text: body, signatures: [] } : body;
  checkBody("sign note", note.text);
  checkKeyName("sign note", name);
  checkPublicKey("sign note", signer.publicKey);
  const sig = await signer.signRaw(utf8(note.text));
  if (sig.length !== ED25519_SIGNATURE_SIZE) throw new TypeError(`Cannot sign note: the signer returned ${sig.length} bytes, not an Ed25519 signature`);
  return withSignature(note, makeSignature(name, noteKeyId(name, SIG_TYPE_ED25519, signer.publicKey), sig));
}

/** The bytes a cosignature/v1 signs: `cosignature/v1\ntime <seconds>\n` then the checkpoint body. */
function cosignedMessage(body: string, timeSeconds: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timeSeconds}\n${body}`);
}

function toNote(input: string | Note): Note {
  if (typeof input !== "string") return input;
  // A checkpoint body has no empty line, so a blank line means signature lines follow.
  return input.includes("\n\n") ? parseNote(input) : { text: input, signatures: [] };
}

/**
 * Adds a witness cosignature (tlog-cosignature, Ed25519 cosignature/v1) at `timeSeconds` (Unix seconds, from
 * the caller's clock) to a checkpoint: a signed note, a parsed note, or a bare checkpoint body. Replaces an
 * earlier cosignature from the same key. Returns the whole note.
 */
export async function cosignNote(note: string | Note, name: string, signer: NoteSigner, timeSeconds: number): Promise<string> {
  const n = toNote(note);
  parseCheckpoint(n.text);
  checkKeyName("cosign note", name);
  checkPublicKey("cosign note", signer.publicKey);
  if (!Number.isSafeInteger(timeSeconds) || timeSeconds < 0) {
    throw new RangeError(`Cannot cosign note: timeSeconds must be a non-negative safe integer, got ${timeSeconds}`);
  }
  const sig = await signer.signRaw(cosignedMessage(n.text, timeSeconds));
  if (sig.length !== ED25519_SIGNATURE_SIZE) throw new TypeError(`Cannot cosign note: the signer returned ${sig.length} bytes, not an Ed25519 signature`);
  const stamp = new Uint8Array(TIMESTAMP_SIZE);
  const view = new DataView(stamp.buffer);
  view.setUint32(0, Math.floor(timeSeconds / 2 ** 32));
  view.setUint32(4, timeSeconds % 2 ** 32);
  return withSignature(n, makeSignature(name, noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, signer.publicKey), concatBytes(stamp, sig)));
}

/** The lines signed by (name, key ID); IntegrityError `unknown_key` if there are none. */
function linesFor(note: Note, name: string, keyId: string, what: string): NoteSignature[] {
  // Identical repeated lines are checked once (the reference implementation drops them too).
  const byText = new Map<string, NoteSignature>();
  for (const s of note.signatures) if (s.name === name && s.keyId === keyId) byText.set(s.base64, s);
  const lines = [...byText.values()];
  if (lines.length === 0) {
    throw new IntegrityError("unknown_key", `Note has no ${what} from key ${name}+${keyId}`, {
      name,
      keyId,
      present: note.signatures.map((s) => `${s.name}+${s.keyId}`),
    });
  }
  return lines;
}

/**
 * Verifies the Ed25519 signature of key `name` on a note and returns the note's text, which is trustworthy
 * only once this has succeeded. Lines from other keys are ignored; every line from this key must verify.
 */
export async function verifyNoteSignature(note: string | Note, name: string, publicKey: Uint8Array): Promise<string> {
  const n = typeof note === "string" ? parseNote(note) : note;
  checkKeyName("verify note", name);
  checkPublicKey("verify note", publicKey);
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, publicKey);
  const message = utf8(n.text);
  for (const line of linesFor(n, name, keyId, "signature")) {
    if (!(await verifyRaw(line.signature, message, publicKey))) {
      throw new IntegrityError("bad_signature", `Invalid signature for key ${name}+${keyId}`, { name, keyId });
    }
  }
  return n.text;
}

/**
 * Verifies the cosignature/v1 of witness `name` on a checkpoint note and returns its timestamp (Unix
 * seconds; the latest, if the witness cosigned more than once). Other lines are ignored.
 */
export async function verifyCosignature(note: string | Note, name: string, publicKey: Uint8Array): Promise<number> {
  const n = typeof note === "string" ? parseNote(note) : note;
  parseCheckpoint(n.text);
  checkKeyName("verify cosignature", name);
  checkPublicKey("verify cosignature", publicKey);
  const keyId = noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey);
  let latest = -1;
  for (const line of linesFor(n, name, keyId, "cosignature")) {
    const fail = (why: string): never => {
      throw new IntegrityError("bad_signature", `Invalid cosignature for key ${name}+${keyId}: ${why}`, { name, keyId });
    };
    const want = TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE;
    if (line.signature.length !== want) fail(`expected ${want} bytes, got ${line.signature.length}`);
    const time = cosignatureTimestamp(line);
    if (!(await verifyRaw(line.signature.subarray(TIMESTAMP_SIZE), cosignedMessage(n.text, time), publicKey))) fail("the signature does not verify");
    latest = Math.max(latest, time);
  }
  return latest;
}

/**
 * The timestamp (Unix seconds) a cosignature/v1 line carries, without verifying it. ValidationError if the
 * line is too short to hold one or the time is beyond 2^53 − 1 (the spec allows up to 2^63 − 1; no honest
 * witness gets there).
 */
export function cosignatureTimestamp(line: NoteSignature): number {
  if (line.signature.length < TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE) {
    const why = `${line.signature.length} bytes cannot hold a timestamp and a signature`;
    throw new ValidationError("malformed_note", `Malformed cosignature from ${line.name}: ${why}`);
  }
  const view = new DataView(line.signature.buffer, line.signature.byteOffset, TIMESTAMP_SIZE);
  const high = view.getUint32(0), low = view.getUint32(4);
  const time = high * 2 ** 32 + low;
  if (!Number.isSafeInteger(time)) throw new ValidationError("unsupported", `Cosignature from ${line.name} has a timestamp beyond 2^53 - 1`);
  return time;
}

// ---- checkpoints --------------------------------------------------------------------------------------

/** The body of a checkpoint: `<origin>\n<size>\n<base64 root>\n` then any extension lines. */
export function formatCheckpointBody(checkpoint: { origin: string; size: number; root: Uint8Array; extensions?: readonly string[] }): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  const lineProblem = (s: string) => typeof s !== "string" || s === "" || s.includes("\n") || textProblem(s) !== null;
  if (lineProblem(origin)) {
    throw new TypeError(`Cannot format checkpoint: origin ${JSON.stringify(origin)} must be one non-empty line without control characters`);
  }
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_TREE_SIZE) {
    throw new RangeError(`Cannot format checkpoint: size must be a non-negative safe integer, got ${size}`);
  }
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE) throw new TypeError(`Cannot format checkpoint: root must be ${HASH_SIZE} bytes`);
  const bad = extensions.findIndex(lineProblem);
  if (bad >= 0) throw new TypeError(`Cannot format checkpoint: extension line ${bad + 1} must be one non-empty line without control characters`);
  return `${origin}\n${size}\n${toBase64(root)}\n${extensions.map((e) => `${e}\n`).join("")}`;
}

/**
 * Parses a checkpoint body (a note's text, not the whole note): at least three non-empty lines — origin,
 * decimal size without leading zeros (at most 2^53 − 1), canonical base64 of a 32-byte root — then extensions.
 */
export function parseCheckpoint(body: string): Checkpoint {
  const problem = textProblem(body) ?? (body.endsWith("\n") ? null : "not newline-terminated");
  if (problem) malformed(`checkpoint body is ${problem}`);
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) malformed(`a checkpoint has at least 3 lines (origin, size, root), got ${lines.length}`);
  const empty = lines.indexOf("");
  if (empty >= 0) malformed(`checkpoint line ${empty + 1} is empty`);
  const [origin, sizeText, rootText] = lines as [string, string, string];
  const size = Number(sizeText);
  if (!TREE_SIZE_RE.test(sizeText) || size > MAX_TREE_SIZE) {
    malformed(`checkpoint size ${JSON.stringify(sizeText.slice(0, 30))} is not a decimal integer in [0, 2^53 - 1] without leading zeros`);
  }
  let root: Uint8Array;
  try {
    root = fromBase64(rootText);
  } catch {
    return malformed("checkpoint root is not standard padded base64");
  }
  if (root.length !== HASH_SIZE || toBase64(root) !== rootText) malformed(`checkpoint root must be the canonical base64 of ${HASH_SIZE} bytes`);
  return { origin, size, root, extensions: lines.slice(3) };
}

/**
 * Opens an appliance checkpoint: verifies the log's signature by key `origin` (the log signs under its origin,
 * docs/protocol.md), then parses the body and checks its origin line is that same origin.
 */
export async function openCheckpoint(note: string | Note, origin: string, publicKey: Uint8Array): Promise<Checkpoint> {
  const checkpoint = parseCheckpoint(await verifyNoteSignature(note, origin, publicKey));
  if (checkpoint.origin !== origin) {
    throw new IntegrityError("checkpoint_mismatch", `Checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the signer ${JSON.stringify(origin)}`, {
      origin: checkpoint.origin,
      expected: origin,
    });
  }
  return checkpoint;
}
