/**
 * Partner branding: the name, logo and colours a partner's users and its clinics see in the dashboard, the
 * client portal and the monthly packets. Validated strictly (colours as #rrggbb, the logo as a small PNG/SVG
 * data URL) because it is rendered into pages and PDFs.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { str, type RelayDb } from "../db/index.ts";
import { RelayError } from "../errors.ts";

export const brandingSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  logo_data_url: z
    .string()
    .max(200_000)
    .regex(/^data:image\/(png|svg\+xml);base64,[A-Za-z0-9+/=]+$/, "expected a data:image/png or data:image/svg+xml base64 URL")
    .optional(),
  primary: z.string().regex(/^#[0-9a-fA-F]{6}$/, "expected a colour as #rrggbb").optional(),
  accent: z.string().regex(/^#[0-9a-fA-F]{6}$/, "expected a colour as #rrggbb").optional(),
});
export type Branding = z.output<typeof brandingSchema>;

/** A partner's branding ({} for none, or for MSP users). */
export async function brandingFor(db: RelayDb, partnerId: string | null): Promise<Branding> {
  if (!partnerId) return {};
  const rs = await db.execute({ sql: "SELECT branding FROM partners WHERE id = ?", args: [partnerId] });
  const row = rs.rows[0];
  if (!row) return {};
  const parsed = brandingSchema.safeParse(JSON.parse(str(row, "branding")));
  return parsed.success ? parsed.data : {};
}

export async function setBranding(db: RelayDb, partnerId: string, input: unknown): Promise<Branding> {
  const b = parseSchema(brandingSchema, input, "branding");
  const rs = await db.execute({ sql: "UPDATE partners SET branding = ? WHERE id = ?", args: [JSON.stringify(b), partnerId] });
  if (rs.rowsAffected === 0) throw new RelayError("tenant_unknown", `partner ${JSON.stringify(partnerId)} does not exist`);
  return b;
}
