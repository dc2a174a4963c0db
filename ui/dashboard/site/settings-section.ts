/**
 * Site settings: healing mode, the L2 planner switch and the maintenance windows, each window an RRULE +
 * duration + time zone with a live, human-readable preview of its next occurrences computed by the relay
 * with the appliance's own window code (so what you read is what the appliance will do). Saving validates
 * everything on the relay; the site's appliances pick the change up at their next sync.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { SiteConfig, WindowPreview } from "../../relay-client/mod.ts";
import { HEALING_MODE_TEXT } from "../format.ts";
import { shared } from "../styles.ts";
import { Section } from "./section.ts";

/** Wait this long after the last keystroke before asking the relay for a preview. */
const PREVIEW_DEBOUNCE_MS = 350;

const PRESETS: [string, string, string][] = [
  ["Every night at 01:00 for 3 hours", "FREQ=DAILY;BYHOUR=1;BYMINUTE=0", "PT3H"],
  ["Saturdays at 02:00 for 4 hours", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", "PT4H"],
  ["Weeknights at 22:00 for 2 hours", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=22;BYMINUTE=0", "PT2H"],
  ["First Sunday of the month at 03:00 for 6 hours", "FREQ=MONTHLY;BYDAY=1SU;BYHOUR=3;BYMINUTE=0", "PT6H"],
];

interface WindowDraft {
  key: number;
  rrule: string;
  duration: string;
  tz: string;
  preview: WindowPreview | null;
  error: string | null;
  timer: ReturnType<typeof setTimeout> | null;
  abort: AbortController | null;
}

export class OsirisSiteSettings extends Section {
  static override styles = [
    shared,
    css`
      fieldset {
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.75rem 1rem;
        margin: 0 0 1rem;
        background: var(--card);
      }
      legend {
        font-weight: 700;
        padding: 0 0.3rem;
      }
      .window {
        border-top: 1px solid var(--line);
        padding-top: 0.75rem;
        margin-top: 0.75rem;
      }
      .window:first-of-type {
        border-top: 0;
        margin-top: 0;
        padding-top: 0;
      }
      .cols {
        display: grid;
        grid-template-columns: 2fr 1fr 1fr;
        gap: 0 0.75rem;
      }
      @media (max-width: 40rem) {
        .cols {
          grid-template-columns: 1fr;
        }
      }
      .preview {
        background: var(--bg);
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
      }
      .preview ol {
        margin: 0.3rem 0 0;
        padding-left: 1.3rem;
      }
    `,
  ];
  #mode: SiteConfig["healing_mode"] = "observe";
  #l2 = false;
  #windows: WindowDraft[] = [];
  #seq = 0;
  /** The settings the form was filled from (JSON), and whether the user changed anything since. */
  #loadedFrom: string | null = null;
  #dirty = false;
  #saving = false;
  #message: { ok: boolean; text: string } | null = null;

  #seen: unknown = null;

  /** Refills the form when a new site document arrives with other settings, unless the user is editing. */
  override willUpdate(): void {
    if (!this.detail || this.detail === this.#seen) return;
    this.#seen = this.detail;
    if (!this.#dirty && JSON.stringify(this.detail.settings) !== this.#loadedFrom) this.#reset();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const w of this.#windows) (w.timer && clearTimeout(w.timer), w.abort?.abort());
  }

  #reset(): void {
    const s = this.detail.settings;
    this.#loadedFrom = JSON.stringify(s);
    this.#mode = s.healing_mode;
    this.#l2 = s.l2_enabled;
    this.#windows = s.maintenance_windows.map((w) => this.#draft(w.rrule, w.duration, w.tz));
    for (const w of this.#windows) this.#schedulePreview(w, 0);
  }

  #draft(rrule: string, duration: string, tz: string): WindowDraft {
    return { key: ++this.#seq, rrule, duration, tz, preview: null, error: null, timer: null, abort: null };
  }

  #schedulePreview(w: WindowDraft, delay = PREVIEW_DEBOUNCE_MS): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.#preview(w), delay);
  }

  async #preview(w: WindowDraft): Promise<void> {
    w.abort?.abort();
    const abort = new AbortController();
    w.abort = abort;
    if (!w.rrule.trim() || !w.duration.trim()) {
      w.preview = null;
      w.error = "Enter a rule and a duration to see when it runs.";
      this.requestUpdate();
      return;
    }
    try {
      w.preview = await this.client.previewWindow(this.siteId, { rrule: w.rrule.trim(), duration: w.duration.trim(), tz: w.tz, count: 5 }, abort.signal);
      w.error = null;
    } catch (e) {
      if (abort.signal.aborted) return;
      w.preview = null;
      w.error = this.messageOf(e);
    }
    this.requestUpdate();
  }

  #edit(w: WindowDraft, field: "rrule" | "duration" | "tz", value: string): void {
    w[field] = value;
    this.#message = null;
    this.#dirty = true;
    this.#schedulePreview(w);
  }

  #preset(w: WindowDraft, value: string): void {
    const p = PRESETS.find(([label]) => label === value);
    if (!p) return;
    w.rrule = p[1];
    w.duration = p[2];
    this.#dirty = true;
    this.#schedulePreview(w, 0);
    this.requestUpdate();
  }

  async #save(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    this.#saving = true;
    this.#message = null;
    this.requestUpdate();
    try {
      const saved = await this.client.updateSettings(this.siteId, {
        healing_mode: this.#mode,
        l2_enabled: this.#l2,
        maintenance_windows: this.#windows.map((w) => ({ rrule: w.rrule.trim(), duration: w.duration.trim(), tz: w.tz })),
      });
      this.#message = { ok: true, text: `Saved. The site's appliances use the new settings from their next sync (within about a minute). Healing mode: ${saved.healing_mode}.` };
      this.#dirty = false;
      this.#loadedFrom = JSON.stringify(saved);
      this.siteChanged();
    } catch (err) {
      this.#message = { ok: false, text: `Not saved: ${this.messageOf(err)}` };
    } finally {
      this.#saving = false;
      this.requestUpdate();
    }
  }

  #window(w: WindowDraft, i: number, zones: string[]): TemplateResult {
    const id = (f: string) => `w${w.key}-${f}`;
    return html`<div class="window" role="group" aria-labelledby=${id("h")}>
      <h3 id=${id("h")}>Window ${i + 1}</h3>
      <div class="field">
        <label for=${id("preset")}>Start from a common schedule <span class="hint">(optional)</span></label>
        <select id=${id("preset")} @change=${(e: Event) => this.#preset(w, (e.target as HTMLSelectElement).value)}>
          <option value="">Choose…</option>
          ${PRESETS.map(([label]) => html`<option>${label}</option>`)}
        </select>
      </div>
      <div class="cols">
        <div class="field">
          <label for=${id("rrule")}>Repeat rule (RRULE)</label>
          <input id=${id("rrule")} class="mono" .value=${w.rrule} spellcheck="false" autocomplete="off" aria-describedby=${id("preview")} @input=${(e: InputEvent) => this.#edit(w, "rrule", (e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for=${id("duration")}>Duration <span class="hint">(e.g. PT3H)</span></label>
          <input id=${id("duration")} class="mono" .value=${w.duration} spellcheck="false" autocomplete="off" @input=${(e: InputEvent) => this.#edit(w, "duration", (e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for=${id("tz")}>Time zone</label>
          <select id=${id("tz")} @change=${(e: Event) => (this.#edit(w, "tz", (e.target as HTMLSelectElement).value), this.requestUpdate())}>
            ${zones.map((z) => html`<option ?selected=${z === w.tz}>${z}</option>`)}
          </select>
        </div>
      </div>
      <div class="preview" id=${id("preview")} aria-live="polite">
        ${w.error
          ? html`<p class="error">${w.error}</p>`
          : w.preview
            ? html`<p><strong>${w.preview.description}</strong></p>
                <p class="muted">Next windows:</p>
                <ol>${w.preview.windows.map((o) => html`<li><time datetime=${o.start}>${o.text}</time></li>`)}</ol>`
            : html`<p class="muted">Working out the next windows…</p>`}
      </div>
      <p><button type="button" class="danger" @click=${() => ((this.#windows = this.#windows.filter((x) => x !== w)), (this.#dirty = true), this.requestUpdate())}>Remove window ${i + 1}</button></p>
    </div>`;
  }

  /** The relay lets only MSP admins change the mode (the right to sign a set_healing_mode order, sites/settings.ts). */
  get #mayChangeMode(): boolean {
    return this.userRole === "msp_admin";
  }

  override render(): TemplateResult {
    const tz = this.detail.site.timezone;
    const zones = [...new Set([tz, "UTC", ...(typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [])])];
    return html`
      <h2>Settings</h2>
      <form @submit=${this.#save}>
        <fieldset ?disabled=${!this.#mayChangeMode}>
          <legend>Healing mode</legend>
          ${this.#mayChangeMode ? nothing : html`<p class="hint">Only an MSP administrator can change how this site heals.</p>`}
          ${(["observe", "advise", "enforce"] as const).map(
            (m) => html`<label class="check"><input type="radio" name="mode" value=${m} .checked=${this.#mode === m} @change=${() => ((this.#mode = m), (this.#message = null), (this.#dirty = true))} /> ${HEALING_MODE_TEXT[m]}</label>`,
          )}
        </fieldset>
        <fieldset>
          <legend>L2 planner</legend>
          <label class="check"
            ><input type="checkbox" .checked=${this.#l2} @change=${(e: Event) => ((this.#l2 = (e.target as HTMLInputElement).checked), (this.#message = null), (this.#dirty = true))} /> Let the relay plan a catalogue fix when no rule
            matches (otherwise such problems go straight to a person)</label
          >
        </fieldset>
        <fieldset>
          <legend>Maintenance windows</legend>
          <p class="muted">Disruptive fixes (restarts, network changes) run only inside these windows. Times are wall-clock times in the chosen zone; daylight-saving changes are handled.</p>
          ${this.#windows.length === 0 ? html`<p>No windows: disruptive fixes wait for a person.</p>` : this.#windows.map((w, i) => this.#window(w, i, zones))}
          <p><button type="button" class="secondary" @click=${() => { const w = this.#draft(PRESETS[0]![1], PRESETS[0]![2], tz); this.#windows = [...this.#windows, w]; this.#dirty = true; this.#schedulePreview(w, 0); this.requestUpdate(); }}>Add a window</button></p>
        </fieldset>
        <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
        <button type="submit" ?disabled=${this.#saving}>${this.#saving ? "Saving…" : "Save settings"}</button>
      </form>
    `;
  }
}

customElements.define("osiris-site-settings", OsirisSiteSettings);
