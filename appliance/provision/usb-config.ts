/**
 * The provisioning file a clinic brings on a USB stick labelled OSIRIS-CFG (iso/provision-usb.sh copies it to
 * RAM; the config's `enrollment.usb_config_glob` finds the copy): YAML with the claim code and the relay URL,
 *
 *   relay_url: https://relay.example-msp.com
 *   claim_code: 7KQ2M-XH3PD-0W9RT-ZB4NC
 *
 * and nothing else (a typo in a key name must not be silently ignored). Its claim code is a secret until used:
 * no message here quotes the file's text or the code, only the file and the field that was wrong.
 *
 * The image's firewall only lets the appliance reach the relay it was built for, so a `relay_url` other than
 * the config's `relay.url` is refused with that reason rather than tried.
 */
import { readdir, stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { normaliseClaimCode } from "../../relay/enroll/claim-code.ts";
import { ConfigError, parseYamlMapping } from "../config/index.ts";

/** A provisioning file holds a code and a URL; anything bigger is not one (iso/provision-usb.sh uses the same bound). */
export const MAX_PROVISIONING_FILE_BYTES = 65_536;
/** Directory entries a glob may look at in all: a stick's mount points, not a file system walk. */
export const MAX_GLOB_ENTRIES = 10_000;
/** The fields of the file, in the order the messages list them. */
export const PROVISIONING_FIELDS = ["relay_url", "claim_code"] as const;

export type ProvisionErrorCode = "unreadable" | "invalid" | "ambiguous" | "relay_mismatch";

export class ProvisionError extends Error {
  override readonly name = "ProvisionError";
  constructor(
    readonly code: ProvisionErrorCode,
    message: string,
    /** The field that was wrong, when one was. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A validated provisioning file (the claim code normalised; never log it). */
export interface ProvisioningFile {
  path: string;
  relay_url: string;
  claim_code: string;
}

/** Paths matching `pattern` (`*` and `?` within one path segment), sorted; only regular files. */
export async function globFiles(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p) => p !== "");
  let dirs = [absolute ? "/" : "."];
  let budget = MAX_GLOB_ENTRIES;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of dirs) {
      if (!/[*?]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      const re = new RegExp(`^${part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
      const names = await readdir(dir).catch(() => [] as string[]);
      budget -= names.length;
      if (budget < 0) throw new ProvisionError("unreadable", `enrollment.usb_config_glob ${pattern} looks at more than ${MAX_GLOB_ENTRIES} directory entries: make it more specific`);
      // Hidden entries only when asked for, as a shell would.
      for (const name of names.sort()) if (re.test(name) && (part.startsWith(".") || !name.startsWith("."))) next.push(join(dir, name));
    }
    dirs = [];
    for (const p of next) {
      const info = await stat(p).catch(() => null);
      if (info && (last ? info.isFile() : info.isDirectory())) dirs.push(p);
    }
  }
  return parts.length === 0 ? [] : dirs;
}

/** The provisioning file matching `glob`, or null when none does. ProvisionError `ambiguous` when several do. */
export async function findProvisioningFile(glob: string): Promise<string | null> {
  const found = await globFiles(glob);
  if (found.length > 1) throw new ProvisionError("ambiguous", `${found.length} files match enrollment.usb_config_glob ${glob} (${found.slice(0, 3).join(", ")}): leave only one provisioning file`);
  return found[0] ?? null;
}

/** Reads and validates the provisioning file at `path`. Throws ProvisionError naming the file and the field. */
export async function readProvisioningFile(path: string): Promise<ProvisioningFile> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_PROVISIONING_FILE_BYTES) throw new ProvisionError("unreadable", `${path}: ${info.size} bytes; a provisioning file holds at most ${MAX_PROVISIONING_FILE_BYTES}`);
    text = await readFile(path, "utf8");
  } catch (e) {
    if (e instanceof ProvisionError) throw e;
    throw new ProvisionError("unreadable", `${path}: cannot read the provisioning file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseProvisioningFile(text, path);
}

/** Validates the text of a provisioning file (`source` names it in messages). */
export function parseProvisioningFile(text: string, source: string): ProvisioningFile {
  let data: Record<string, unknown>;
  try {
    data = parseYamlMapping(text, source, false);
  } catch (e) {
    if (e instanceof ConfigError) throw new ProvisionError("invalid", `${e.message} (expected relay_url and claim_code)`);
    throw e;
  }
  const bad = (field: string, why: string) => new ProvisionError("invalid", `${source}: ${field}: ${why}`, field);
  const unknown = Object.keys(data).filter((k) => !(PROVISIONING_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw bad(unknown[0]!, `unknown field; a provisioning file has only ${PROVISIONING_FIELDS.join(" and ")}`);
  for (const field of PROVISIONING_FIELDS) if (data[field] === undefined || data[field] === null) throw bad(field, "missing");

  const url = data["relay_url"];
  if (typeof url !== "string") throw bad("relay_url", `must be a URL such as https://relay.example.com; saw a ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad("relay_url", `must be an absolute URL such as https://relay.example.com; saw ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw bad("relay_url", `must be an https:// URL; saw ${parsed.protocol}`);

  // The code itself is never quoted: a near-miss of a real code is still most of the secret.
  const code = data["claim_code"];
  if (typeof code !== "string") throw bad("claim_code", `must be text like 7KQ2M-XH3PD-0W9RT-ZB4NC; saw a ${typeof code}`);
  const normal = normaliseClaimCode(code);
  if (normal === null) throw bad("claim_code", "is not a claim code: it has 20 letters and digits, like 7KQ2M-XH3PD-0W9RT-ZB4NC (value not shown)");
  return { path: source, relay_url: url, claim_code: normal };
}

/**
 * The relay to enroll with: the config's `relay.url` when it has one (the file's must name the same origin),
 * else the file's. ProvisionError `relay_mismatch` says why a different one is refused.
 */
export function provisionedRelay(file: ProvisioningFile, configured: string | undefined): string {
  if (configured === undefined) return file.relay_url;
  if (origin(file.relay_url) !== origin(configured)) {
    throw new ProvisionError(
      "relay_mismatch",
      `${file.path}: relay_url ${origin(file.relay_url)} is not this appliance's relay ${origin(configured)} (relay.url in its config); this appliance can only reach the relay it was set up for, so the claim code was not used: ask your IT provider for a provisioning file for ${origin(configured)}`,
      "relay_url",
    );
  }
  return configured;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
