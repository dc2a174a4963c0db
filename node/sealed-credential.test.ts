/** Sealed credentials: round trip, relabelling refused, bad contents reported without the secret, target patterns. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalBytes } from "../protocol/canonical.ts";
import { CREDENTIAL_TARGET_PATTERN, openCredential, sealCredential, targetMatches, targetSpecificity, type CredentialPayload } from "./sealed-credential.ts";
import { sealBox, SealError } from "./sealed-box.ts";
import { createX25519Key } from "./x25519.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const APP = "app_aaaaaaaaaaaaaaaa";
const SECRET = "planted-sealed-credential-secret";
const payload: CredentialPayload = { credential_id: "cred_0000000001", target: "srv-*", kind: "winrm_ntlm", username: "CLINIC\\osiris", secret: SECRET };

async function sealError(p: Promise<unknown>): Promise<SealError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SealError) return e;
    throw e;
  }
  throw new Error("expected a SealError");
}

test("a sealed credential carries only its id and target in the clear and opens to the same payload", async () => {
  const key = createX25519Key(random(32));
  const sealed = await sealCredential(payload, key.publicKey, APP, random);
  assert.equal(Object.keys(sealed).sort(), ["alg", "ciphertext", "credential_id", "ephemeral_public_key", "nonce", "target"]);
  assert.not.ok(JSON.stringify(sealed).includes("osiris"));
  assert.equal(await openCredential(sealed, key, APP), payload);
});

test("a box relabelled with another target or credential id does not open", async () => {
  const key = createX25519Key(random(32));
  const sealed = await sealCredential(payload, key.publicKey, APP, random);
  assert.is((await sealError(openCredential({ ...sealed, target: "*" }, key, APP))).code, "open_failed");
  assert.is((await sealError(openCredential({ ...sealed, credential_id: "cred_0000000002" }, key, APP))).code, "open_failed");
});

test("contents that are not a credential are refused, naming fields but never the secret", async () => {
  const key = createX25519Key(random(32));
  const bad = { ...payload, kind: "telnet" };
  const box = await sealBox(key.publicKey, canonicalBytes(bad), { credentialId: payload.credential_id, applianceId: APP }, random);
  const e = await sealError(openCredential({ credential_id: payload.credential_id, target: payload.target, ...box }, key, APP));
  assert.is(e.code, "malformed");
  assert.match(e.message, /\(kind\)/);
  assert.not.ok(e.message.includes(SECRET));
});

test("targets: exact ids, * and ? patterns; an exact id is the most specific", () => {
  assert.ok(targetMatches("fs01", "fs01"));
  assert.not.ok(targetMatches("fs01", "fs011"));
  assert.ok(targetMatches("*", "anything.clinic"));
  assert.ok(targetMatches("srv-*", "srv-db.1"));
  assert.not.ok(targetMatches("srv-*", "xsrv-db"));
  assert.ok(targetMatches("fs0?", "fs07"));
  assert.not.ok(targetMatches("fs0?", "fs0"));
  assert.not.ok(targetMatches("fs.1", "fsx1"), "a dot is literal");
  assert.ok(targetSpecificity("fs01") > targetSpecificity("fs0?"));
  assert.ok(targetSpecificity("srv-db*") > targetSpecificity("srv-*"));
  assert.ok(targetSpecificity("srv-*") > targetSpecificity("*"));
  for (const ok of ["*", "fs01", "srv-*", "a?b"]) assert.ok(CREDENTIAL_TARGET_PATTERN.test(ok), ok);
  for (const bad of ["", "FS01", "fs 01", "-x", "a/b", "x".repeat(64)]) assert.not.ok(CREDENTIAL_TARGET_PATTERN.test(bad), bad);
});

test.run();
