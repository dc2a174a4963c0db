/**
 * Routes of relay/credentials/ (listed in routes.ts): store, list (metadata only), delete and validate site
 * credentials. Write-only: no route ever returns a secret, and the audit log records ids, kinds, targets and
 * user names only. Storing needs the vault (RelayDeps.vault); without it the relay answers 503.
 */
import { z } from "zod";
import { isoTimeSchema } from "../../protocol/ids.ts";
import { CREDENTIAL_KINDS, MAX_SECRET_BYTES } from "../../node/sealed-credential.ts";
import { audit } from "../auth/audit.ts";
import { RelayError } from "../errors.ts";
import { parseJsonBody } from "../http/body.ts";
import { SITE_OPERATORS, type RelayContext, type RouteSpec } from "../http/types.ts";
import { deleteCredential, listCredentials, parseCredentialInput, storeCredential, VALIDATION_STATES } from "./credentials.ts";
import { parseValidateRequest, requestValidation, validateRequestSchema } from "./validate.ts";

/** A store request: the secret (≤ 8 KiB) plus a few short fields and JSON overhead. */
export const MAX_STORE_BODY_BYTES = 16 * 1024;
/** Bodies without content (list, delete) and the small validate request. */
const SMALL_BODY_BYTES = 1024;

const storeRequest = z.strictObject({
  target: z.string().meta({ description: "host id, pattern with * and ?, or * for every host of the site" }),
  kind: z.enum(CREDENTIAL_KINDS),
  username: z.string(),
  secret: z.string().meta({ description: `password or private key (at most ${MAX_SECRET_BYTES} bytes); never returned` }),
});
const lastValidation = z
  .strictObject({
    status: z.enum(VALIDATION_STATES),
    order_id: z.string(),
    appliance_id: z.string(),
    host_id: z.string(),
    requested_at: isoTimeSchema,
    requested_by: z.string(),
    completed_at: isoTimeSchema.nullable(),
    code: z.string().nullable(),
    detail: z.string().nullable(),
  })
  .nullable();
const credentialSummary = z.strictObject({
  id: z.string(),
  target: z.string(),
  kind: z.enum(CREDENTIAL_KINDS),
  username: z.string(),
  created_by: z.string(),
  created_at: isoTimeSchema,
  updated_at: isoTimeSchema,
  last_validation: lastValidation,
});

function vaultOf(deps: Parameters<RouteSpec["handler"]>[1]) {
  if (!deps.vault) throw new RelayError("vault_unavailable", "The credential vault is not configured on this relay (start it with --vault-key-file or OSIRIS_VAULT_KEY)");
  return deps.vault;
}

function bodyOrEmpty(c: RelayContext): unknown {
  return c.var.body.length === 0 ? {} : parseJsonBody(c.var.body);
}

export const CREDENTIAL_ROUTES: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/api/sites/:site_id/credentials",
    status: 201,
    callers: SITE_OPERATORS,
    summary: "store a host credential for a site (encrypted at rest; the secret is never returned)",
    maxBodyBytes: MAX_STORE_BODY_BYTES,
    request: storeRequest,
    response: z.strictObject({ id: z.string() }),
    handler: async (c, deps) => {
      const vault = vaultOf(deps);
      const input = parseCredentialInput(parseJsonBody(c.var.body));
      const siteId = c.req.param("site_id")!;
      const principal = c.var.principal;
      const { id } = await deps.db.transaction(async (tx) => {
        const stored = await storeCredential(tx, vault, { ...input, site_id: siteId, created_by: principal.user_id }, deps);
        await audit(tx, deps.clock, principal, { action: "credential.store", target: stored.id, site_id: siteId, details: { kind: input.kind, target: input.target, username: input.username } });
        return stored;
      });
      return c.json({ id }, 201);
    },
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/credentials",
    callers: SITE_OPERATORS,
    summary: "a site's credentials: metadata and the latest validation, never a secret",
    maxBodyBytes: SMALL_BODY_BYTES,
    response: z.strictObject({ credentials: z.array(credentialSummary) }),
    handler: async (c, deps) => {
      const rows = await listCredentials(deps.db, c.var.principal, c.req.param("site_id")!, deps.clock.now());
      return c.json({ credentials: rows.map(({ site_id: _site, ...r }) => r) });
    },
  },
  {
    method: "DELETE",
    path: "/api/credentials/:credential_id",
    callers: SITE_OPERATORS,
    summary: "delete a credential (appliances drop it at their next pull)",
    maxBodyBytes: SMALL_BODY_BYTES,
    response: z.strictObject({ deleted: z.string() }),
    handler: async (c, deps) => {
      const id = c.req.param("credential_id")!;
      const principal = c.var.principal;
      await deps.db.transaction(async (tx) => {
        const gone = await deleteCredential(tx, id, deps.clock.now());
        if (!gone) throw new RelayError("not_found", `No credential ${JSON.stringify(id)} here`);
        await audit(tx, deps.clock, principal, { action: "credential.delete", target: id, site_id: gone.site_id, details: { kind: gone.kind, target: gone.target, username: gone.username } });
      });
      return c.json({ deleted: id });
    },
  },
  {
    method: "POST",
    path: "/api/credentials/:credential_id/validate",
    callers: SITE_OPERATORS,
    summary: "ask the site's appliance to sign in to a host with this credential and report the outcome",
    maxBodyBytes: SMALL_BODY_BYTES,
    request: validateRequestSchema,
    response: z.strictObject({ order_id: z.string(), appliance_id: z.string(), host_id: z.string(), expires_at: isoTimeSchema }),
    handler: async (c, deps) => {
      const id = c.req.param("credential_id")!;
      const principal = c.var.principal;
      const issued = await requestValidation(deps, principal, id, parseValidateRequest(bodyOrEmpty(c)));
      await audit(deps.db, deps.clock, principal, {
        action: "credential.validate",
        target: id,
        site_id: issued.site_id,
        details: { order_id: issued.order_id, appliance_id: issued.appliance_id, host_id: issued.host_id },
      });
      return c.json({ order_id: issued.order_id, appliance_id: issued.appliance_id, host_id: issued.host_id, expires_at: issued.expires_at }, 202);
    },
  },
];
