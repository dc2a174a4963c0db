/**
 * `<osiris-kit-verifier kit-url="…">`: "verify our evidence" in the browser. Downloads the auditor kit (or,
 * without `kit-url`, reads one the user picks from their own disk), then
 * a Web Worker checks every signature, the hash chain and every checkpoint with the relay's witness
 * cosignatures, showing progress, and says in plain words whether the evidence is intact — or exactly where
 * it is not. Nothing is sent back to the server. `relay-key` (or, when picking a file, the key typed in) names
 * the relay key the user trusts, from the packet or their IT provider: a kit whose manifest another key signed
 * then fails, instead of checking out against the keys it carries.
 */
import { css, html, LitElement, nothing } from "lit";
import { relayKeyIdOf } from "../../protocol/checkpoint.ts";
import type { KitReport } from "../../protocol/kit.ts";
import { plural, reportTime } from "../dashboard/format.ts";
import type { VerifyMessage, VerifyRequest } from "./messages.ts";

type State =
  | { phase: "idle" }
  | { phase: "downloading" }
  | { phase: "reading" }
  | { phase: "verifying"; done: number; total: number }
  | { phase: "done"; report: KitReport; sha256: string; bytes: number; pinned: boolean }
  | { phase: "error"; message: string };

const number = new Intl.NumberFormat("en-US");

export class KitVerifier extends LitElement {
  static override properties = { kitUrl: { type: String, attribute: "kit-url" }, expectedSha256: { type: String, attribute: "expected-sha256" }, relayKey: { type: String, attribute: "relay-key" }, label: { type: String }, state: { state: true } };
  static override styles = css`
    :host { display: block; font: inherit; color: inherit; }
    button { font: inherit; padding: 0.5rem 1rem; border-radius: 6px; border: 1px solid var(--accent, #1d4ed8); background: var(--accent, #1d4ed8); color: var(--accent-ink, #fff); cursor: pointer; }
    button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
    button[disabled] { background: #64748b; border-color: #64748b; cursor: progress; }
    .pick { display: grid; gap: 0.4rem; font-weight: 600; }
    .pick input { font: inherit; font-weight: normal; }
    .pick + .pick { margin-top: 0.75rem; }
    .pick input[type="text"] { padding: 0.35rem 0.5rem; border: 1px solid #64748b; border-radius: 4px; font-family: ui-monospace, monospace; }
    .hint { margin: 0.2rem 0 0; font-weight: normal; font-size: 0.9em; color: #475569; }
    progress { width: 100%; height: 1rem; margin: 0.75rem 0 0.25rem; }
    .result { margin-top: 0.75rem; padding: 0.75rem 1rem; border-radius: 6px; border-left: 6px solid; }
    .ok { background: #ecfdf5; border-color: #047857; color: #064e3b; }
    .bad { background: #fef2f2; border-color: #b91c1c; color: #7f1d1d; }
    .warn { background: #fffbeb; border-color: #b45309; color: #78350f; }
    .result h3 { margin: 0 0 0.25rem; font-size: 1.05rem; }
    .result p { margin: 0.25rem 0; }
    code { font-family: ui-monospace, monospace; font-size: 0.85em; overflow-wrap: anywhere; }
    ul { margin: 0.25rem 0; padding-left: 1.25rem; }
  `;

  // Reactive properties are declared, not initialised as class fields (which would shadow Lit's accessors).
  declare kitUrl: string;
  /** The kit SHA-256 the report printed: a downloaded kit with another hash is not the report's evidence. */
  declare expectedSha256: string;
  /** The relay key the user trusts, as the packet prints it (`osiriscare.relay/<key id>`) or the key id alone; "" for none. */
  declare relayKey: string;
  declare label: string;
  declare state: State;
  #worker: Worker | null = null;

  constructor() {
    super();
    this.kitUrl = "";
    this.expectedSha256 = "";
    this.relayKey = "";
    this.label = "Verify our evidence";
    this.state = { phase: "idle" };
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#worker?.terminate();
    this.#worker = null;
  }

  async verify(): Promise<void> {
    this.#worker?.terminate();
    const trusted = this.#trustedRelayKeyIds();
    if (!trusted) return;
    this.state = { phase: "downloading" };
    let zip: ArrayBuffer;
    try {
      const res = await fetch(this.kitUrl, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`the server answered ${res.status} for the evidence kit`);
      zip = await res.arrayBuffer();
    } catch (e) {
      this.state = { phase: "error", message: `Could not download the evidence kit: ${(e as Error).message}` };
      return;
    }
    this.#check(zip, trusted);
  }

  /** Verifies a kit the user picked from their own disk (nothing is uploaded: it is read here). */
  async verifyFile(file: File): Promise<void> {
    this.#worker?.terminate();
    const trusted = this.#trustedRelayKeyIds();
    if (!trusted) return;
    this.state = { phase: "reading" };
    let zip: ArrayBuffer;
    try {
      zip = await file.arrayBuffer();
    } catch (e) {
      this.state = { phase: "error", message: `Could not read ${file.name}: ${(e as Error).message}` };
      return;
    }
    this.#check(zip, trusted);
  }

  /** The relay key given, as the ids to trust ([] for none); null, with the error shown, when it is not a relay key. */
  #trustedRelayKeyIds(): string[] | null {
    const given = this.relayKey.trim();
    if (given === "") return [];
    const id = relayKeyIdOf(given);
    if (id === null) {
      this.state = { phase: "error", message: `"${given}" is not a relay key: give it as the packet prints it, osiriscare.relay/ followed by 16 hex digits (or those 16 digits alone).` };
      return null;
    }
    return [id];
  }

  #check(zip: ArrayBuffer, trustedRelayKeyIds: string[]): void {
    const bytes = zip.byteLength;
    const worker = new Worker(new URL("./verify-worker.ts", import.meta.url), { type: "module" });
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<VerifyMessage>) => {
      const m = e.data;
      if (m.type === "progress") this.state = { phase: "verifying", done: m.done, total: m.total };
      else {
        this.state = m.type === "report" ? { phase: "done", report: m.report, sha256: m.sha256, bytes, pinned: trustedRelayKeyIds.length > 0 } : { phase: "error", message: `The evidence kit could not be read: ${m.message}` };
        worker.terminate();
        this.#worker = null;
      }
    };
    worker.onerror = (e) => {
      this.state = { phase: "error", message: `The verifier stopped: ${e.message}` };
      worker.terminate();
    };
    this.state = { phase: "verifying", done: 0, total: 0 };
    worker.postMessage({ zip, trustedRelayKeyIds } satisfies VerifyRequest, [zip]);
  }

  override render() {
    const s = this.state;
    const busy = s.phase === "downloading" || s.phase === "reading" || s.phase === "verifying";
    const start = this.kitUrl
      ? html`<button type="button" ?disabled=${busy} @click=${() => void this.verify()}>${busy ? "Verifying…" : this.label}</button>`
      : html`<label class="pick">Relay key, as the packet prints it (optional)
          <input type="text" .value=${this.relayKey} placeholder="osiriscare.relay/…" spellcheck="false" autocomplete="off" ?disabled=${busy}
            @input=${(e: Event) => (this.relayKey = (e.target as HTMLInputElement).value)} />
          <span class="hint">Confirm it with the clinic's IT provider. With it, a kit signed under any other key fails.</span>
        </label>
        <label class="pick">Choose the evidence kit (a .zip file) to check
          <input type="file" accept=".zip,application/zip" ?disabled=${busy} @change=${(e: Event) => {
            const file = (e.target as HTMLInputElement).files?.[0];
            if (file) void this.verifyFile(file);
          }} />
        </label>`;
    return html`
      ${start}
      ${s.phase === "downloading" ? html`<p role="status">Downloading the evidence kit…</p>` : nothing}
      ${s.phase === "reading" ? html`<p role="status">Reading the evidence kit…</p>` : nothing}
      ${s.phase === "verifying"
        ? html`<progress aria-label="Verification progress" max=${Math.max(s.total, 1)} value=${s.done}></progress>
            <p role="status">Checked ${number.format(s.done)} of ${s.total ? number.format(s.total) : "…"} records</p>`
        : nothing}
      ${s.phase === "error" ? html`<div class="result bad" role="alert"><h3>Could not verify</h3><p>${s.message}</p></div>` : nothing}
      ${s.phase === "done" ? this.#result(s.report, s.sha256, s.bytes, s.pinned) : nothing}
    `;
  }

  #result(r: KitReport, sha256: string, bytes: number, pinned: boolean) {
    const expected = this.expectedSha256.toLowerCase();
    const kit = html`<p>Kit SHA-256 <code>${sha256}</code> (${number.format(bytes)} bytes), checked in this browser${expected === sha256 ? ": the one the report names" : ""}.</p>`;
    if (expected !== "" && expected !== sha256) {
      // Checked first: a kit that verifies against keys it carries itself proves nothing about this report.
      return html`<div class="result bad" role="alert" data-outcome="failed" data-code="kit_mismatch">
        <h3>Verification FAILED: this is not the evidence kit the report names</h3>
        <p>The report names the kit with SHA-256 <code>${expected}</code>; the one downloaded has another hash.</p>
        ${kit}
      </div>`;
    }
    if (!r.ok) {
      const f = r.failure;
      const where = [f.file, f.line ? `line ${f.line}` : "", f.appliance_id ? `appliance ${f.appliance_id}` : "", f.seq ? `record ${f.seq}` : ""].filter(Boolean).join(", ");
      return html`<div class="result bad" role="alert" data-outcome="failed" data-code=${f.code}>
        <h3>${f.code === "untrusted_key" ? "Verification FAILED: this kit is not signed by the relay key you gave" : "Verification FAILED: the evidence has been altered or is incomplete"}</h3>
        <p>Where: ${where}</p>
        <p>Why: <code>${f.code}</code> — ${f.reason}</p>
        ${kit}
      </div>`;
    }
    if (r.bundles === 0) {
      return html`<div class="result warn" role="status" data-outcome="empty">
        <h3>Nothing to verify: this kit holds no evidence records</h3>
        <p>It was made for a period in which the relay holds no evidence for this site, so it proves nothing either way.</p>
        ${kit}
      </div>`;
    }
    const witnesses = new Set(r.checkpoints.flatMap((c) => c.witnesses.map((w) => w.name)));
    return html`<div class="result ok" role="status" data-outcome="verified">
      <h3>Verified: the evidence is intact</h3>
      <p>${number.format(r.bundles)} signed records from ${plural(r.appliances.length, "appliance")}${r.first_time ? html`, ${reportTime(r.first_time)} to ${reportTime(r.last_time ?? null)}` : nothing}: every signature, the hash chain and
        ${plural(r.checkpoints.length, "checkpoint")} countersigned by ${plural(witnesses.size, "witness", "witnesses")} check out.</p>
      <ul>
        ${r.appliances.map((a) => html`<li>Appliance <code>${a.appliance_id}</code>: records ${a.first_seq}–${a.last_seq}</li>`)}
      </ul>
      ${r.manifest
        ? html`<p data-manifest="signed">The relay's signed manifest matches: site <code>${r.manifest.site_id}</code>, ${reportTime(r.manifest.from)} (included) to ${reportTime(r.manifest.to)} (excluded), every file and record range as it exported them (key <code>${r.manifest.key_id}</code>${pinned ? ", the relay key you gave" : ""}).</p>`
        : html`<p class="extra" data-manifest="none">Not signed: this kit has no manifest from the relay, so where its records start, its README and its list of files are not confirmed.</p>`}
      ${r.extra_files.length
        ? html`<p class="extra" data-extra-files=${r.extra_files.join(" ")}>
            Not verified: ${plural(r.extra_files.length, "file")} in this kit ${r.extra_files.length === 1 ? "is" : "are"} not part of an evidence kit, so nothing about
            ${r.extra_files.length === 1 ? "it" : "them"} is proven: ${r.extra_files.map((f, i) => html`${i ? ", " : ""}<code>${f}</code>`)}.
          </p>`
        : nothing}
      ${kit}
    </div>`;
  }
}

if (!customElements.get("osiris-kit-verifier")) customElements.define("osiris-kit-verifier", KitVerifier);

declare global {
  interface HTMLElementTagNameMap {
    "osiris-kit-verifier": KitVerifier;
  }
}
