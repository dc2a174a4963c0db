/**
 * The standalone verifier page: `?kit=URL` names the kit to check (same origin); `&sha256=HEX`, the kit
 * SHA-256 a report printed, makes a kit with another hash fail; `&relay_key=KEY`, the relay key the user trusts,
 * makes a kit whose manifest another key signed fail.
 */
import "./kit-verifier.ts";

const query = new URL(location.href).searchParams;
const kit = query.get("kit");
const sha256 = query.get("sha256");
const el = document.querySelector("osiris-kit-verifier");
if (el && kit && new URL(kit, location.href).origin === location.origin) el.kitUrl = kit;
if (el && sha256 && /^[0-9a-fA-F]{64}$/.test(sha256)) el.expectedSha256 = sha256;
const relayKey = query.get("relay_key");
if (el && relayKey) el.relayKey = relayKey;
