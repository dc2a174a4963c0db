/** The standalone verifier page: `?kit=URL` names the kit to check (same origin). */
import "./kit-verifier.ts";

const kit = new URL(location.href).searchParams.get("kit");
const el = document.querySelector("osiris-kit-verifier");
if (el && kit && new URL(kit, location.href).origin === location.origin) el.kitUrl = kit;
