/**
 * The pieces both portal pages show, as template functions: the overall state in one sentence, what needs
 * attention, open escalations, and the monthly reports with "Verify our evidence" (the in-browser kit
 * verifier, `<osiris-kit-verifier>`, whose Web Worker checks the kit independently of the server).
 */
import { html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { notMet } from "../../../protocol/catalogue/wording.ts";
import type { Escalation, Packet, SiteDetail } from "../../relay-client/mod.ts";
import "../../verifier/kit-verifier.ts";
import { frameworkText, plural, reportTime, scoreText } from "../format.ts";
import { monthEnd, scoreCaveats } from "../packet-words.ts";
import { capitalise, escalationTitle, escalationWords, STATE_CLASS, type AttentionItem } from "./attention.ts";
import { monthName, sitePhrase } from "./time-phrase.ts";

const number = new Intl.NumberFormat("en-US");


/** The overall state of one or more sites in one sentence (never "all fine" without data). */
export function overall(items: readonly AttentionItem[], scores: readonly (number | null)[], provider: string): TemplateResult {
  const known = scores.some((s) => s !== null);
  const [cls, headline, detail] =
    items.length > 0
      ? ["warn", `${plural(items.length, "item needs", "items need")} attention`, `${capitalise(provider)} can see ${items.length === 1 ? "it" : "them"} too; below is what happens next for each.`]
      : known
        ? ["ok", "All checks passing", "Nothing needs attention right now."]
        : ["none", "No results yet", "The first results arrive once the appliance is installed and has checked your computers."];
  return html`<div class="card overall ${cls}" role="status"><div><p class="headline">${headline}</p><p>${detail}</p></div></div>`;
}

/** What needs attention, most urgent first; `showSite` names the site of each item (home page). */
export function attentionList(items: readonly AttentionItem[], now: number, timeZoneOf: (siteId: string) => string, showSite: boolean): TemplateResult {
  if (items.length === 0) return html`<p class="card">Nothing needs attention right now.</p>`;
  return html`<ul class="plain items" aria-label="What needs attention">
    ${items.map(
      (i) => html`<li class="card item">
        <p class="where">${i.device ? `On ${i.device}` : "Site-wide"}${showSite ? ` · ${i.site_name}` : ""} · since ${sitePhrase(i.since, now, timeZoneOf(i.site_id))}</p>
        <h3>${notMet(i.title)}</h3>
        <p><span class="badge next ${STATE_CLASS[i.state]}">${capitalise(i.text)}</span></p>
      </li>`,
    )}
  </ul>`;
}

/** Open and acknowledged escalations with where each stands. */
export function escalationList(escalations: readonly Escalation[], details: readonly SiteDetail[], provider: string, now: number, showSite: boolean): TemplateResult {
  if (escalations.length === 0) return html`<p class="card">No open escalations: nothing has been handed to a person at ${provider}.</p>`;
  return html`<ul class="plain items" aria-label="Open escalations">
    ${escalations.map((e) => {
      const d = details.find((x) => x.site.id === e.site_id);
      const tz = d?.site.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
      const w = escalationWords(e, provider, now, tz);
      const device = e.host_id ? (d?.devices.find((x) => x.host_id === e.host_id)?.hostname ?? e.host_id) : null;
      return html`<li class="card item">
        <p class="where">${device ? `On ${device} · ` : ""}${showSite && d ? `${d.site.name} · ` : ""}reported ${sitePhrase(e.created_at, now, tz)}</p>
        <h3>${escalationTitle(e, details)}</h3>
        <p><span class="badge next ${w.cls}">${w.status}</span></p>
        <p>${w.detail}.</p>
        <details>
          <summary>Technical details<span class="sr-only"> of “${escalationTitle(e, details)}”</span></summary>
          <p>${e.reason}</p>
        </details>
      </li>`;
    })}
  </ul>`;
}

export interface PacketView extends Packet {
  site_name?: string;
}

/**
 * One monthly report: scores (with what makes a score not good news: packet-words.ts), the PDF and "Verify our
 * evidence". Times in UTC with the zone named, as the PDF prints them. `latest` marks the newest.
 */
function packetCard(p: PacketView, latest: boolean): TemplateResult {
  const month = monthName(p.month);
  const framework = frameworkText(p.framework);
  const label = latest ? "Verify our evidence" : `Verify the evidence of ${month}${p.site_name ? ` (${p.site_name})` : ""}`;
  const caveats = scoreCaveats(p);
  return html`<li class="card packet ${latest ? "latest" : ""}" data-packet=${p.id}>
    <h3>${month} report${p.site_name ? html` <span class="muted">· ${p.site_name}</span>` : nothing} ${latest ? html`<span class="badge info">Latest</span>` : nothing}</h3>
    <p>
      Score <strong>${scoreText(p.summary.overall)}</strong>${caveats.map((c) => html` <span class="badge warn">${c.label}</span>`)} · ${p.summary.controls_ready} of ${p.summary.controls_total} ${framework} controls
      ready at month end (${reportTime(monthEnd(p.month))}) · ${plural(p.summary.incidents, "incident")}
    </p>
    ${caveats.map((c) => html`<p class="caveat" data-caveat=${c.code}>${c.text}</p>`)}
    <p class="facts-line">Backed by ${number.format(p.summary.bundles)} signed records from ${plural(p.summary.appliances, "appliance")}. Made ${reportTime(p.generated_at)}.</p>
    <div class="actions">
      <a class="button secondary" href=${p.pdf_url} download>Download PDF<span class="sr-only"> of the ${month} report${p.site_name ? ` for ${p.site_name}` : ""}</span></a>
      <a class="button secondary" href=${p.kit_url} download>Download the auditor kit<span class="sr-only"> of the ${month} report${p.site_name ? ` for ${p.site_name}` : ""}</span></a>
      <osiris-kit-verifier kit-url=${p.kit_url} expected-sha256=${p.kit_sha256} label=${label}></osiris-kit-verifier>
    </div>
  </li>`;
}

/** Monthly reports, newest first, each downloadable and verifiable in this browser. */
export function packetList(packets: readonly PacketView[], unavailable: boolean): TemplateResult {
  if (unavailable) return html`<p class="unavailable" role="status">Monthly reports are not available on this server yet.</p>`;
  if (packets.length === 0) return html`<p class="card">No monthly report yet: the first one is made after the first full month of checks.</p>`;
  return html`
    <p class="explain muted">
      “Verify our evidence” checks a month's evidence in this browser: it downloads the month's evidence kit, checks that it is the kit the report names
      (its SHA-256, printed in the PDF), then every signature, the unbroken chain of records and the checkpoint the relay countersigned. “Download the auditor
      kit” gives the same file to your auditor, who can check it with <code>osiris evidence verify</code>.
    </p>
    <ul class="plain packets" aria-label="Monthly reports">
      ${repeat(packets, (p) => p.id, (p, i) => packetCard(p, i === 0))}
    </ul>
  `;
}
