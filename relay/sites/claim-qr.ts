/**
 * Claim codes for the dashboard: create (text + QR), list, revoke, and render a QR again.
 *
 * The relay keeps only the SHA-256 of a code, so a QR can be drawn only by someone who holds the code: the
 * creation answer carries the code with its QR (SVG and PNG), and the QR endpoints take the code in the
 * request BODY (never in a URL, where it would land in logs and browser history), check that it is a live
 * code of that site, and draw it. The QR holds the same two lines as the appliance's provisioning file on a
 * USB stick (`osiris.yaml`: `relay_url`, `claim_code`), so an installer can scan it into that file.
 */
import QRCode from "qrcode";
import { z } from "zod";
import { isoTime } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { claimCodeSha256, normaliseClaimCode } from "../enroll/claim-code.ts";
import { createClaimCode, MAX_CLAIM_CODE_TTL_MS } from "../enroll/claim-codes.ts";
import { RelayError } from "../errors.ts";

const DAY_MS = 86_400_000;
/** Most codes one list returns (newest first). */
export const MAX_CODES_LISTED = 100;

export const createCodeSchema = z.strictObject({ ttl_days: z.number().int().min(1).max(MAX_CLAIM_CODE_TTL_MS / DAY_MS).optional() });
export const qrRequestSchema = z.strictObject({ code: z.string().max(64) });

export interface ClaimCodeWithQr {
  id: string;
  /** Shown once; the relay keeps only its hash. */
  code: string;
  expires_at: string;
  qr_text: string;
  qr_svg: string;
  qr_png_data_url: string;
}

export const CLAIM_CODE_STATES = ["active", "used", "expired", "revoked"] as const;
export interface ClaimCodeRecord {
  id: string;
  created_by: string;
  created_by_email: string | null;
  created_at: string;
  expires_at: string;
  state: (typeof CLAIM_CODE_STATES)[number];
  used_at: string | null;
  used_by: string | null;
  revoked_at: string | null;
}

/** What the QR encodes: the provisioning file's lines. */
export function qrText(code: string, relayUrl: string | undefined): string {
  return `${relayUrl ? `relay_url: ${relayUrl}\n` : ""}claim_code: ${code}\n`;
}

export const qrSvg = (text: string): Promise<string> => QRCode.toString(text, { type: "svg", margin: 2, errorCorrectionLevel: "M" });
export const qrPngDataUrl = (text: string): Promise<string> => QRCode.toDataURL(text, { type: "image/png", margin: 2, errorCorrectionLevel: "M", scale: 6 });

export async function createCodeWithQr(db: RelayDb, siteId: string, createdBy: string, body: unknown, env: Env, relayUrl: string | undefined): Promise<ClaimCodeWithQr> {
  const input = parseSchema(createCodeSchema, body, "claim code request");
  const created = await createClaimCode(db, { site_id: siteId, created_by: createdBy, ...(input.ttl_days ? { ttl_ms: input.ttl_days * DAY_MS } : {}) }, env);
  const text = qrText(created.code, relayUrl);
  return { id: created.id, code: created.code, expires_at: created.expires_at, qr_text: text, qr_svg: await qrSvg(text), qr_png_data_url: await qrPngDataUrl(text) };
}

export async function listClaimCodes(db: RelayDb, siteId: string, now: number): Promise<ClaimCodeRecord[]> {
  const rs = await db.execute({
    sql: `SELECT c.*, u.email FROM claim_codes c LEFT JOIN users u ON u.id = c.created_by WHERE c.site_id = ? ORDER BY c.created_at DESC, c.rowid DESC LIMIT ${MAX_CODES_LISTED}`,
    args: [siteId],
  });
  const t = isoTime(now);
  return rs.rows.map((r) => {
    const revoked = strOrNull(r, "revoked_at");
    const used = strOrNull(r, "used_at");
    const expires = str(r, "expires_at");
    return {
      id: str(r, "id"),
      created_by: str(r, "created_by"),
      created_by_email: strOrNull(r, "email"),
      created_at: str(r, "created_at"),
      expires_at: expires,
      state: revoked ? "revoked" : used ? "used" : t >= expires ? "expired" : "active",
      used_at: used,
      used_by: strOrNull(r, "used_by"),
      revoked_at: revoked,
    };
  });
}

/**
 * The QR text of a code the caller holds, after checking it is a live code of this site. Unknown codes and
 * codes of other sites get the same answer (no oracle across tenants).
 */
export async function qrTextForCode(db: RelayDb, siteId: string, body: unknown, now: number, relayUrl: string | undefined): Promise<string> {
  const { code } = parseSchema(qrRequestSchema, body, "QR request");
  const normalised = normaliseClaimCode(code);
  const row = normalised ? (await db.execute({ sql: "SELECT * FROM claim_codes WHERE code_sha256 = ?", args: [claimCodeSha256(normalised)] })).rows[0] : undefined;
  if (!row || str(row, "site_id") !== siteId) throw new RelayError("claim_code_unknown", "Unknown claim code for this site: check it was typed correctly");
  if (strOrNull(row, "revoked_at")) throw new RelayError("claim_code_revoked", "This claim code was revoked; create a new one");
  if (strOrNull(row, "used_at")) throw new RelayError("claim_code_used", "This claim code was already used; create a new one");
  if (isoTime(now) >= str(row, "expires_at")) throw new RelayError("claim_code_expired", "This claim code has expired; create a new one");
  const grouped = normalised!.match(/.{5}/g)!.join("-");
  return qrText(grouped, relayUrl);
}
