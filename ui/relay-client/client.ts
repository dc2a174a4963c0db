/**
 * The one typed client of the relay's user API, for every UI served by the relay (dashboard, portal). It
 * keeps the session's CSRF token and sends it on every request that changes something (the session cookie
 * itself is httpOnly and travels on its own), turns error envelopes into `RelayApiError`, and never puts a
 * secret in a URL: claim codes for QR images and magic-link tokens go in request bodies.
 *
 *   const relay = new RelayClient();
 *   const session = await relay.session();          // 401 → RelayApiError with loginRequired
 *   const { sites } = await relay.fleet({ q: "lake" });
 */
import { errorFromResponse, networkError, RelayApiError } from "./errors.ts";
import type * as T from "./types.ts";

export interface RelayClientOptions {
  /** Base URL of the relay (default: this page's origin). */
  baseUrl?: string;
  /** Injected for tests; default the browser's. */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined>;

export class RelayClient {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  #csrf = "";

  constructor(options: RelayClientOptions = {}) {
    this.#base = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Sets the CSRF token (the session answer carries it; login and session() set it themselves). */
  set csrfToken(token: string) {
    this.#csrf = token;
  }

  async #request(method: "GET" | "POST" | "PUT" | "DELETE", path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal | undefined } = {}): Promise<Response> {
    const qs = opts.query ? new URLSearchParams(Object.entries(opts.query).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== "").map(([k, v]) => [k, String(v)])).toString() : "";
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = this.#csrf;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}${qs ? `?${qs}` : ""}`, {
        method,
        headers,
        credentials: "same-origin",
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  async #json<R>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal | undefined } = {}): Promise<R> {
    const res = await this.#request(method, path, opts);
    if (res.status === 204) return undefined as R;
    return (await res.json()) as R;
  }

  // ---- session -----------------------------------------------------------------------------------------

  async session(signal?: AbortSignal): Promise<T.Session> {
    const s = await this.#json<T.Session>("GET", "/api/auth/session", { signal });
    this.#csrf = s.csrf_token;
    return s;
  }

  /** Password login; RelayApiError `totp_required` (401) asks for the code, `account_locked` (423) says how long. */
  async login(email: string, password: string, totpCode?: string): Promise<T.Session> {
    const s = await this.#json<T.Session>("POST", "/api/auth/login", { body: { email, password, ...(totpCode ? { totp_code: totpCode } : {}) } });
    this.#csrf = s.csrf_token;
    return s;
  }

  /** Exchanges the token of a `/login#magic=TOKEN` link for a session. */
  async consumeMagicLink(token: string): Promise<T.Session> {
    const s = await this.#json<T.Session>("POST", "/api/auth/magic-link/consume", { body: { token } });
    this.#csrf = s.csrf_token;
    return s;
  }

  async requestMagicLink(email: string): Promise<void> {
    await this.#request("POST", "/api/auth/magic-link", { body: { email } });
  }

  async logout(): Promise<void> {
    await this.#request("POST", "/api/auth/logout");
    this.#csrf = "";
  }

  // ---- fleet and sites ---------------------------------------------------------------------------------

  fleet(filter: T.FleetFilter = {}, signal?: AbortSignal): Promise<{ sites: T.FleetSite[]; generated_at: string }> {
    return this.#json("GET", "/api/sites", { query: { ...filter }, signal });
  }

  site(siteId: string, opts: { days?: number } = {}, signal?: AbortSignal): Promise<T.SiteDetail> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}`, { query: { days: opts.days }, signal });
  }

  updateSettings(siteId: string, change: T.SettingsChange): Promise<T.SiteConfig> {
    return this.#json("PUT", `/api/sites/${encodeURIComponent(siteId)}/settings`, { body: change });
  }

  previewWindow(siteId: string, w: { rrule: string; duration: string; tz?: string; count?: number }, signal?: AbortSignal): Promise<T.WindowPreview> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/windows/preview`, { query: { rrule: w.rrule, duration: w.duration, tz: w.tz, count: w.count }, signal });
  }

  // ---- enrollment --------------------------------------------------------------------------------------

  createClaimCode(siteId: string, ttlDays?: number): Promise<T.ClaimCodeWithQr> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/claim-codes`, { body: ttlDays ? { ttl_days: ttlDays } : {} });
  }

  claimCodes(siteId: string): Promise<{ claim_codes: T.ClaimCodeRecord[] }> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/claim-codes`);
  }

  revokeClaimCode(claimCodeId: string): Promise<{ id: string; revoked_at: string }> {
    return this.#json("POST", `/api/claim-codes/${encodeURIComponent(claimCodeId)}/revoke`);
  }

  /** The QR of a code the user holds, as SVG text or PNG bytes (the code travels in the body). */
  async claimCodeQr(siteId: string, code: string, format: "svg" | "png"): Promise<string | Uint8Array> {
    const res = await this.#request("POST", `/api/sites/${encodeURIComponent(siteId)}/claim-codes/qr.${format}`, { body: { code } });
    return format === "svg" ? res.text() : new Uint8Array(await res.arrayBuffer());
  }

  pendingAppliances(): Promise<{ pending: T.WaitingAppliance[] }> {
    return this.#json("GET", "/api/pending-appliances");
  }

  acceptPending(siteId: string, pendingId: string, fingerprint: string): Promise<T.PendingRecord> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/pending-appliances/accept`, { body: { pending_id: pendingId, fingerprint } });
  }

  /** Revokes an enrolled appliance (lost, stolen, replaced): the relay refuses its requests from then on. */
  revokeAppliance(applianceId: string, reason: string): Promise<{ revoked_at: string }> {
    return this.#json("POST", `/api/appliances/${encodeURIComponent(applianceId)}/revoke`, { body: { reason } });
  }

  // ---- orders and approvals ----------------------------------------------------------------------------

  orderTypes(): Promise<{ order_types: T.OrderTypeView[] }> {
    return this.#json("GET", "/api/order-types");
  }

  orders(siteId: string): Promise<{ orders: T.OrderView[] }> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/orders`);
  }

  issueOrder(siteId: string, order: { appliance_id: string; type: string; params: Record<string, unknown>; ttl_s?: number }): Promise<{ order_id: string; expires_at: string }> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/orders`, { body: order });
  }

  approvals(siteId: string, state?: T.ApprovalRequest["state"]): Promise<{ approvals: T.ApprovalRequest[] }> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/approvals`, { query: { state } });
  }

  proposeOrder(siteId: string, proposal: { appliance_id: string; type: string; params: Record<string, unknown>; reason: string }): Promise<{ id: string }> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/approvals`, { body: proposal });
  }

  approve(approvalId: string, opts: { note?: string; valid_for_s?: number } = {}): Promise<{ approval: T.ApprovalRequest; order_id: string | null }> {
    return this.#json("POST", `/api/approvals/${encodeURIComponent(approvalId)}/approve`, { body: opts });
  }

  reject(approvalId: string, note?: string): Promise<{ approval: T.ApprovalRequest; order_id: string | null }> {
    return this.#json("POST", `/api/approvals/${encodeURIComponent(approvalId)}/reject`, { body: note ? { note } : {} });
  }

  // ---- tenants and audit -------------------------------------------------------------------------------

  partners(): Promise<{ partners: T.PartnerView[] }> {
    return this.#json("GET", "/api/partners");
  }

  createPartner(name: string): Promise<{ id: string; name: string }> {
    return this.#json("POST", "/api/partners", { body: { name } });
  }

  orgs(): Promise<{ organisations: T.OrgView[] }> {
    return this.#json("GET", "/api/orgs");
  }

  createOrg(name: string, partnerId: string | null): Promise<{ id: string; name: string; partner_id: string | null }> {
    return this.#json("POST", "/api/orgs", { body: { name, ...(partnerId ? { partner_id: partnerId } : {}) } });
  }

  createSite(orgId: string, name: string, timezone: string): Promise<{ id: string; name: string; timezone: string }> {
    return this.#json("POST", `/api/orgs/${encodeURIComponent(orgId)}/sites`, { body: { name, timezone } });
  }

  /** Renames a partner (MSP administrators; 409 name_taken when the MSP has another partner of that name). */
  renamePartner(partnerId: string, name: string): Promise<{ id: string; name: string }> {
    return this.#json("PUT", `/api/partners/${encodeURIComponent(partnerId)}/name`, { body: { name } });
  }

  /** Renames a client organisation (409 name_taken when a sibling has that name). */
  renameOrg(orgId: string, name: string): Promise<{ id: string; name: string }> {
    return this.#json("PUT", `/api/orgs/${encodeURIComponent(orgId)}/name`, { body: { name } });
  }

  /** Renames a site (409 name_taken when its organisation has another site of that name). */
  renameSite(siteId: string, name: string): Promise<{ id: string; name: string }> {
    return this.#json("PUT", `/api/sites/${encodeURIComponent(siteId)}/name`, { body: { name } });
  }

  setBranding(partnerId: string, branding: T.Branding): Promise<void> {
    return this.#json("PUT", `/api/partners/${encodeURIComponent(partnerId)}/branding`, { body: branding });
  }

  auditLog(opts: { site_id?: string; before?: number; limit?: number } = {}): Promise<{ entries: T.AuditRecord[] }> {
    return this.#json("GET", "/api/audit-log", { query: { site_id: opts.site_id, before: opts.before, limit: opts.limit } });
  }

  // ---- other features (answer RelayApiError.noRoute on a relay without them) ---------------------------

  credentials(siteId: string): Promise<{ credentials: T.CredentialSummary[] }> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/credentials`);
  }

  /** Stores a credential; the secret is sent once and never comes back. */
  storeCredential(siteId: string, c: { target: string; kind: T.CredentialKind; username: string; secret: string }): Promise<{ id: string }> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/credentials`, { body: c });
  }

  deleteCredential(credentialId: string): Promise<{ deleted: string }> {
    return this.#json("DELETE", `/api/credentials/${encodeURIComponent(credentialId)}`);
  }

  validateCredential(credentialId: string, hostId?: string): Promise<{ order_id: string; host_id: string }> {
    return this.#json("POST", `/api/credentials/${encodeURIComponent(credentialId)}/validate`, { body: hostId ? { host_id: hostId } : {} });
  }

  escalations(siteId?: string, query: { status?: string; active?: boolean } = {}, signal?: AbortSignal): Promise<{ escalations: T.Escalation[] }> {
    const q = { status: query.status, active: query.active ? "true" : undefined };
    return this.#json("GET", siteId ? `/api/sites/${encodeURIComponent(siteId)}/escalations` : "/api/escalations", { query: q, signal });
  }

  acknowledgeEscalation(escalationId: string, note?: string): Promise<T.Escalation> {
    return this.#json("POST", `/api/escalations/${encodeURIComponent(escalationId)}/acknowledge`, { body: note ? { note } : {} });
  }

  resolveEscalation(escalationId: string, note: string): Promise<T.Escalation> {
    return this.#json("POST", `/api/escalations/${encodeURIComponent(escalationId)}/resolve`, { body: { note } });
  }

  /** A site's monthly packets, newest month first; download `pdf_url` / verify `kit_url` (session cookie). */
  packets(siteId: string, signal?: AbortSignal): Promise<{ packets: T.Packet[] }> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/packets`, { signal });
  }

  /** Generates (or returns the stored) packet of a closed month: MSP and partner staff only. */
  generatePacket(siteId: string, month: string, framework?: string): Promise<T.Packet> {
    return this.#json("POST", `/api/sites/${encodeURIComponent(siteId)}/packets`, { body: { month, ...(framework ? { framework } : {}) } });
  }

  archiveStatus(siteId: string): Promise<T.ArchiveStatus> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/archive`);
  }

  learningCandidates(state?: string, signal?: AbortSignal): Promise<{ candidates: T.LearningCandidate[] }> {
    return this.#json("GET", "/api/learning/candidates", { query: { state }, signal });
  }

  learningCandidate(candidateId: string, signal?: AbortSignal): Promise<T.LearningCandidateDetail> {
    return this.#json("GET", `/api/learning/candidates/${encodeURIComponent(candidateId)}`, { signal });
  }

  learningThresholds(signal?: AbortSignal): Promise<T.LearningThresholds> {
    return this.#json("GET", "/api/learning/thresholds", { signal });
  }

  /** Changes threshold overrides (`null` puts one back to its default) and auto-promotion (MSP admin only). */
  setLearningThresholds(change: T.LearningThresholdsChange): Promise<T.LearningThresholds> {
    return this.#json("PUT", "/api/learning/thresholds", { body: change });
  }

  /** Approve (reason optional), reject or retire (reason required); approving publishes a new signed rule set. */
  decideCandidate(candidateId: string, verb: "approve" | "reject" | "retire", reason?: string): Promise<T.CandidateDecision> {
    return this.#json("POST", `/api/learning/candidates/${encodeURIComponent(candidateId)}/${verb}`, { body: reason ? { reason } : {} });
  }

  // ---- device inventory (relay/inventory) ----------------------------------------------------------------

  /** A site's discovered devices (gone ones too with `include_gone`). */
  inventory(siteId: string, opts: { status?: T.DeviceStatus; include_gone?: boolean } = {}, signal?: AbortSignal): Promise<T.InventoryList> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/devices`, { query: { status: opts.status, include_gone: opts.include_gone ? "1" : undefined }, signal });
  }

  inventoryEvents(siteId: string, limit?: number, signal?: AbortSignal): Promise<T.InventoryEvents> {
    return this.#json("GET", `/api/sites/${encodeURIComponent(siteId)}/device-events`, { query: { limit }, signal });
  }

  /** The MSP's decision for a device: monitored, excluded (never probed again), medical, or discovered. */
  setDeviceStatus(deviceId: string, status: T.DeviceStatus): Promise<T.InventoryDevice> {
    return this.#json("PUT", `/api/devices/${encodeURIComponent(deviceId)}`, { body: { status } });
  }

  // ---- notification channels (relay/notify) ----------------------------------------------------------------

  channels(signal?: AbortSignal): Promise<{ channels: T.ChannelView[] }> {
    return this.#json("GET", "/api/channels", { signal });
  }

  /** Adds a channel; its secret (webhook URL and HMAC secret, Slack URL) is sent once and never comes back. */
  createChannel(channel: T.NewChannelInput): Promise<T.ChannelView> {
    return this.#json("POST", "/api/channels", { body: channel });
  }

  deleteChannel(channelId: string): Promise<void> {
    return this.#json("DELETE", `/api/channels/${encodeURIComponent(channelId)}`);
  }

  channelDeliveries(channelId: string, signal?: AbortSignal): Promise<{ deliveries: T.ChannelDelivery[] }> {
    return this.#json("GET", `/api/channels/${encodeURIComponent(channelId)}/deliveries`, { signal });
  }

  // ---- users and API keys (relay/auth) -------------------------------------------------------------------

  /** Users the caller administers (MSP admin: the MSP's; partner admin: the partner's and its clinics'). */
  users(signal?: AbortSignal): Promise<{ users: T.UserListing[] }> {
    return this.#json("GET", "/api/users", { signal });
  }

  createUser(user: T.NewUserInput): Promise<T.UserRecord> {
    return this.#json("POST", "/api/users", { body: user });
  }

  /** Disables a user and ends their sessions (MSP admin only). */
  disableUser(userId: string): Promise<void> {
    return this.#json("POST", `/api/users/${encodeURIComponent(userId)}/disable`);
  }

  /** The MSP's own keys (partnerId null, MSP admin only) or a partner's keys; never the key text. */
  apiKeys(partnerId: string | null, signal?: AbortSignal): Promise<{ api_keys: T.ApiKeyRecord[] }> {
    return this.#json("GET", partnerId ? `/api/partners/${encodeURIComponent(partnerId)}/api-keys` : "/api/api-keys", { signal });
  }

  /** Creates a key for the MSP (partnerId null) or a partner; the key text is in this answer only (with when it expires). */
  createApiKey(partnerId: string | null, key: { name: string; role?: T.Role; expires_in_days?: number }): Promise<T.CreatedApiKey> {
    return this.#json("POST", partnerId ? `/api/partners/${encodeURIComponent(partnerId)}/api-keys` : "/api/api-keys", { body: key });
  }

  revokeApiKey(apiKeyId: string): Promise<void> {
    return this.#json("POST", `/api/api-keys/${encodeURIComponent(apiKeyId)}/revoke`);
  }

  // ---- L2 planner settings (relay/l2) ----------------------------------------------------------------------

  l2Settings(signal?: AbortSignal): Promise<T.L2SettingsView> {
    return this.#json("GET", "/api/l2/settings", { signal });
  }

  /** Changes the kill switch, budgets or confidence floor; answers the settings now in force. */
  updateL2Settings(change: T.L2SettingsChange): Promise<T.L2SettingsView> {
    return this.#json("PUT", "/api/l2/settings", { body: change });
  }

  // ---- partner billing (relay/billing) -------------------------------------------------------------------

  revenueShare(partnerId: string, signal?: AbortSignal): Promise<T.RevenueShare> {
    return this.#json("GET", `/api/partners/${encodeURIComponent(partnerId)}/revenue-share`, { signal });
  }

  /** Sets a partner's revenue share tiers (MSP admin only): the highest tier reached applies. */
  setRevenueShare(partnerId: string, share: T.RevenueShareInput): Promise<T.RevenueShare> {
    return this.#json("PUT", `/api/partners/${encodeURIComponent(partnerId)}/revenue-share`, { body: share });
  }

  /** A client organisation's plan (null when none is set). */
  plan(orgId: string, signal?: AbortSignal): Promise<{ plan: T.BillingPlan | null }> {
    return this.#json("GET", `/api/orgs/${encodeURIComponent(orgId)}/plan`, { signal });
  }

  /** Creates or replaces a client organisation's plan (prices in integer cents). */
  setPlan(orgId: string, plan: T.BillingPlanInput): Promise<T.BillingPlan> {
    return this.#json("PUT", `/api/orgs/${encodeURIComponent(orgId)}/plan`, { body: plan });
  }

  statements(partnerId: string, signal?: AbortSignal): Promise<{ statements: T.StatementHeader[] }> {
    return this.#json("GET", `/api/partners/${encodeURIComponent(partnerId)}/statements`, { signal });
  }

  statement(statementId: string, signal?: AbortSignal): Promise<T.Statement> {
    return this.#json("GET", `/api/statements/${encodeURIComponent(statementId)}`, { signal });
  }

  /** Issues the partner's statement for a month that has ended (`YYYY-MM`); immutable once issued. */
  issueStatement(partnerId: string, month: string): Promise<T.Statement> {
    return this.#json("POST", `/api/partners/${encodeURIComponent(partnerId)}/statements`, { body: { month } });
  }

  /** Where a statement downloads as CSV or PDF (a plain link: the session cookie authorises the GET). */
  statementUrl(statementId: string, format: "csv" | "pdf"): string {
    return `${this.#base}/api/statements/${encodeURIComponent(statementId)}/${format}`;
  }
}

export { RelayApiError };
