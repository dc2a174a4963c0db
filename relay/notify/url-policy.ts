/**
 * Where the relay may POST notifications: `https://` anywhere, plain `http://` only to a loopback address and
 * only when the operator allowed it (`RelayDeps.loopbackHttpNotifications`: tests, a receiver on the relay's
 * own host). A channel URL is tenant input, so it is checked when stored and again before every send.
 */
import { isIP } from "node:net";

/** Whether `hostname` (as in a URL) is a loopback address. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** Why `raw` may not be a notification URL, or null when it may (`allowLoopbackHttp` admits http to loopback). */
export function urlProblem(raw: string, allowLoopbackHttp: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "expected an absolute URL such as https://hooks.example.com/osiris";
  }
  if (url.username !== "" || url.password !== "") return "must not carry a user name or password (put secrets in the secret field)";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return allowLoopbackHttp ? null : "must use https: plain http to loopback is allowed only when the relay is started with --allow-loopback-http-notifications";
  return `must use https (got ${url.protocol}//)`;
}
