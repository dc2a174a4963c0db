/**
 * Everything the portal home shows, loaded through the one relay client: the clinic's sites (score, trend),
 * each site's detail (for what needs attention), the escalations still open, and every site's monthly
 * packets. Requests run side by side; a feature this relay lacks (no packet or escalation routes) leaves its
 * part empty and says so instead of failing the page.
 */
import { RelayApiError, type Escalation, type FleetSite, type Packet, type RelayClient, type SiteDetail } from "../../relay-client/mod.ts";

/** Sites whose detail the home page loads (a clinic has a handful; the list itself shows every site). */
export const MAX_DETAILED_SITES = 25;

export interface PortalPacket extends Packet {
  site_name: string;
}

export interface PortalData {
  sites: FleetSite[];
  details: SiteDetail[];
  escalations: Escalation[];
  /** Newest month first, then by site name. */
  packets: PortalPacket[];
  /** Parts this relay does not have ("packets", "escalations"). */
  unavailable: string[];
}

/** The value, or null when the relay has no such route (a feature it does not have). */
export async function unlessMissing<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof RelayApiError && e.noRoute) return null;
    throw e;
  }
}

/** The value, or `fallback` (noting `name` as unavailable) when the relay has no such route. */
async function optional<T>(p: Promise<T>, fallback: T, name: string, unavailable: string[]): Promise<T> {
  const v = await unlessMissing(p);
  if (v !== null) return v;
  if (!unavailable.includes(name)) unavailable.push(name);
  return fallback;
}

/** Packets of several sites, newest month first. */
export function newestFirst(packets: PortalPacket[]): PortalPacket[] {
  return [...packets].sort((a, b) => b.month.localeCompare(a.month) || a.site_name.localeCompare(b.site_name) || a.framework.localeCompare(b.framework));
}

/** Loads the home page's data; `onSites` gets the site list as soon as it arrives (the page shows it first). */
export async function loadPortal(client: RelayClient, signal: AbortSignal, onSites?: (sites: FleetSite[]) => void): Promise<PortalData> {
  const unavailable: string[] = [];
  const { sites } = await client.fleet({}, signal);
  if (!signal.aborted) onSites?.(sites);
  const shown = sites.slice(0, MAX_DETAILED_SITES);
  const [details, escalations, packetLists] = await Promise.all([
    Promise.all(shown.map((s) => client.site(s.id, { days: 30 }, signal))),
    optional(client.escalations(undefined, { active: true }, signal).then((r) => r.escalations), [], "escalations", unavailable),
    Promise.all(shown.map((s) => optional(client.packets(s.id, signal).then((r) => r.packets.map((p) => ({ ...p, site_name: s.name }))), [], "packets", unavailable))),
  ]);
  return { sites, details, escalations, packets: newestFirst(packetLists.flat()), unavailable };
}
