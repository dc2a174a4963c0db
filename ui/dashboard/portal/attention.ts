/**
 * "What needs attention", in plain words for clinic staff, from what the relay knows about a site: every
 * unresolved incident says what happens next ("fix scheduled for Sat 02:00", "waiting for approval",
 * "Bayside IT has been notified"), a failing check without an incident still shows, and so does a device that
 * could not be checked (its checks count as not passing, so the score drops). Escalations say
 * where they stand the same way. Pure functions: the site document, the clock and the provider's name go in.
 *
 * The relay keeps an incident's status as open / escalated / resolved; what the appliance is doing about it
 * is the outcome of its newest healing attempt (deferred to a maintenance window, waiting for approval,
 * alert only, ...), which is what the wording follows.
 */
import { notMet } from "../../../protocol/catalogue/wording.ts";
import type { Escalation, IncidentView, SiteDetail } from "../../relay-client/mod.ts";
import { deferralReason } from "../site/attempt-words.ts";
import { sitePhrase } from "./time-phrase.ts";

/** Most urgent first: people were told, people must look, approval, scheduled, being fixed. */
export const ATTENTION_STATES = ["notified", "review", "waiting_approval", "scheduled", "fixing"] as const;
export type AttentionState = (typeof ATTENTION_STATES)[number];

export const STATE_CLASS: Readonly<Record<AttentionState, string>> = { notified: "bad", review: "warn", waiting_approval: "warn", scheduled: "info", fixing: "info" };

export interface AttentionItem {
  site_id: string;
  site_name: string;
  /** Device name (or id); null for a site-wide problem. */
  device: string | null;
  /** The check's title, which says what should be true ("An outdated file-sharing method is off"). */
  title: string;
  check: string;
  state: AttentionState;
  /** What happens next, in plain words. */
  text: string;
  /** When it was first seen (ISO). */
  since: string;
}

/** The desired state of a device that could not be checked (worded as a problem where shown, like a check's title). */
export const UNREACHABLE_TITLE = "Reachable for its compliance checks";

/** Outcomes after which no fix runs by itself: a person decides. */
const NEEDS_A_PERSON = new Set(["alert", "dry_run", "failed", "reverted", "rejected", "expired"]);

function stateOf(i: IncidentView, mode: string): AttentionState | null {
  if (i.status === "resolved") return null;
  if (i.status === "escalated" || i.outcome === "escalated") return "notified";
  if (i.outcome === "deferred") return "scheduled";
  if (i.outcome === "pending_approval") return "waiting_approval";
  if (i.outcome === "success") return null; // fixed; the next check confirms it and closes the incident
  if (mode === "observe" || (i.outcome !== null && NEEDS_A_PERSON.has(i.outcome))) return "review";
  return "fixing";
}

/**
 * When a deferred fix runs: the time its attempt named while that is still ahead; else the start of the site's
 * next maintenance window (an appliance that defers the same fix again does not record a new attempt), or null.
 */
function scheduledAt(d: SiteDetail, i: IncidentView | null, now: number): string | null {
  const until = i?.attempts.find((a) => a.outcome === "deferred")?.deferred_until ?? null;
  if (until && Date.parse(until) > now) return until;
  const starts = d.windows_preview.flatMap((w) => w?.windows.map((x) => x.start) ?? []).filter((s) => Date.parse(s) > now);
  return starts.sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
}

function textOf(state: AttentionState, i: IncidentView | null, provider: string, now: number, d: SiteDetail): string {
  switch (state) {
    case "notified":
      return `${provider} has been notified`;
    case "review":
      return i?.outcome === "failed" || i?.outcome === "reverted" ? `the automatic fix did not work; ${provider} can see it` : `${provider} can see it and decides what to do`;
    case "waiting_approval":
      return "waiting for approval";
    case "scheduled": {
      const deferred = i?.attempts.find((a) => a.outcome === "deferred") ?? null;
      const reason = deferralReason(deferred?.detail ?? null);
      if (reason === "cooldown" && deferred?.deferred_until && Date.parse(deferred.deferred_until) > now) return `the fix will be tried again ${sitePhrase(deferred.deferred_until, now, d.site.timezone)}`;
      if (reason === "no_window") return `waiting for ${provider} to set a maintenance window for this fix`;
      const at = scheduledAt(d, i, now);
      return at ? `fix scheduled for ${sitePhrase(at, now, d.site.timezone)}` : "fix scheduled for the next maintenance window";
    }
    case "fixing":
      return "being fixed automatically";
  }
}

/** The name staff know a device by. */
function deviceName(d: SiteDetail, hostId: string | null): string | null {
  if (hostId === null) return null;
  return d.devices.find((x) => x.host_id === hostId)?.hostname ?? hostId;
}

/** What needs attention at one site, most urgent first. `provider` names the IT provider ("Bayside IT"). */
export function attentionItems(d: SiteDetail, now: number, provider: string): AttentionItem[] {
  const items: AttentionItem[] = [];
  const covered = new Set<string>();
  const base = { site_id: d.site.id, site_name: d.site.name };
  for (const i of d.incidents) {
    if (i.status === "resolved") continue;
    covered.add(`${i.host_id}\0${i.check}`);
    const state = stateOf(i, d.settings.healing_mode);
    if (state === null) continue;
    items.push({ ...base, device: deviceName(d, i.host_id), title: i.title, check: i.check, state, text: textOf(state, i, provider, now, d), since: i.opened_at });
  }
  for (const dev of d.devices) {
    // A device that did not answer: its checks count as not passing until it does, which the score shows.
    const down = dev.results.filter((r) => r.unreachable).map((r) => r.finished_at).sort();
    if (down.length > 0) {
      const text = `it could not be checked at the last attempt, so its ${down.length === 1 ? "check counts" : `${down.length} checks count`} as not passing; ${provider} can see it`;
      items.push({ ...base, device: dev.hostname ?? dev.host_id, title: UNREACHABLE_TITLE, check: "", state: "review", text, since: down[0]! });
    }
    for (const r of dev.results) {
      if (r.status !== "fail" || r.unreachable || covered.has(`${dev.host_id}\0${r.check}`)) continue;
      items.push({ ...base, device: dev.hostname ?? dev.host_id, title: r.title, check: r.check, state: "review", text: `found at the last check; ${provider} can see it`, since: r.finished_at });
    }
  }
  const rank = (s: AttentionState) => ATTENTION_STATES.indexOf(s);
  return items.sort((a, b) => rank(a.state) - rank(b.state) || (a.device ?? "").localeCompare(b.device ?? "") || a.title.localeCompare(b.title));
}

export interface EscalationWords {
  /** "Reported to Bayside IT", "Bayside IT is working on it", "Resolved". */
  status: string;
  cls: "bad" | "warn" | "info" | "ok";
  /** What is due next, or how it ended. */
  detail: string;
}

/** `s` with its first letter upper-case: a provider's name ("your IT provider") at the start of a sentence. */
export const capitalise = (s: string): string => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * Where an escalation stands, in plain words, with times in the site's zone. `provider` is written as it
 * reads mid-sentence ("Bayside IT", "your IT provider"); it is capitalised where it starts the status.
 */
export function escalationWords(e: Escalation, provider: string, now: number, timeZone: string): EscalationWords {
  const at = (iso: string) => sitePhrase(iso, now, timeZone);
  if (e.status === "resolved") return { status: "Resolved", cls: "ok", detail: `Resolved ${e.resolved_at ? at(e.resolved_at) : ""}${e.resolution_note ? `: “${e.resolution_note}”` : ""}`.trim() };
  if (e.status === "acknowledged") {
    const late = e.resolution_overdue || Date.parse(e.resolution_due_at) < now;
    return { status: `${capitalise(provider)} is working on it`, cls: late ? "warn" : "info", detail: late ? `The fix is taking longer than agreed (it was due ${at(e.resolution_due_at)})` : `They aim to have it fixed by ${at(e.resolution_due_at)}` };
  }
  const late = e.response_overdue || Date.parse(e.response_due_at) < now;
  return { status: `Reported to ${provider}`, cls: late ? "bad" : "warn", detail: late ? `A reply is overdue (it was due ${at(e.response_due_at)})` : `They aim to reply by ${at(e.response_due_at)}` };
}

/** A plain title for an escalation: the check's title worded as a problem when a site document names it. */
export function escalationTitle(e: Escalation, details: readonly SiteDetail[]): string {
  const d = details.find((x) => x.site.id === e.site_id);
  const title = (e.check && (d?.incidents.find((i) => i.check === e.check)?.title ?? d?.devices.flatMap((x) => x.results).find((r) => r.check === e.check)?.title)) || null;
  return title ? notMet(title) : (e.category ? `A problem with ${e.category.replace(/_/g, " ")}` : "A problem your IT provider is handling");
}
