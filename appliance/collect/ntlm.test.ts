import { test } from "uvu";
import * as assert from "uvu/assert";
import { CollectError } from "./errors.ts";
import { authenticateToken, challengeToken, negotiateToken, ntlmIdentity } from "./ntlm.ts";
import { loadFixture, verifyAuthenticate } from "./_test-winrm-replay.ts";

const fixture = loadFixture("ntlm-success.json");
const challenge = fixture.ntlm?.challenge ?? "";

test("ntlmIdentity() splits DOMAIN\\user and keeps UPNs and local users whole", () => {
  assert.equal(ntlmIdentity("CLINIC\\osiris-scan"), { domain: "CLINIC", username: "osiris-scan" });
  assert.equal(ntlmIdentity("osiris-scan@clinic.local"), { domain: "", username: "osiris-scan@clinic.local" });
  assert.equal(ntlmIdentity("scanner"), { domain: "", username: "scanner" });
});

test("negotiateToken() is an NTLMSSP NEGOTIATE asking for NTLM without signing or sealing", () => {
  const msg = Buffer.from(negotiateToken({ domain: "CLINIC", username: "x" }, "OSIRIS"), "base64");
  assert.is(msg.subarray(0, 8).toString("latin1"), "NTLMSSP\0");
  assert.is(msg.readUInt32LE(8), 1);
  const flags = msg.readUInt32LE(12);
  assert.ok(flags & 0x200, "NEGOTIATE_NTLM");
  assert.ok(flags & 0x80000, "extended session security (NTLMv2)");
  assert.not.ok(flags & 0x30, "no sign/seal: no session key is used");
});

test("challengeToken() finds the token among WWW-Authenticate values", () => {
  assert.is(challengeToken(["Negotiate", "Kerberos"]), undefined);
  assert.is(challengeToken([`Negotiate ${challenge}`]), challenge);
  assert.is(challengeToken([`Basic realm="WSMAN", NTLM ${challenge}`]), challenge);
});

test("authenticateToken() answers the recorded challenge with an NTLMv2 response a Windows-side check accepts", () => {
  const id = ntlmIdentity(fixture.credentials.username);
  const token = Buffer.from(authenticateToken(challenge, id, fixture.credentials.password, "OSIRIS"), "base64");
  assert.is(verifyAuthenticate(token, challenge, fixture.credentials), undefined);
  assert.is(verifyAuthenticate(token, challenge, { ...fixture.credentials, password: "other" }), "wrong password");
  const wrong = Buffer.from(authenticateToken(challenge, id, "other", "OSIRIS"), "base64");
  assert.is(verifyAuthenticate(wrong, challenge, fixture.credentials), "wrong password");
});

test("authenticateToken() refuses a challenge that is not NTLMSSP or is truncated", () => {
  for (const bad of ["", Buffer.from("hello world, not ntlm at all!!!!!").toString("base64"), challenge.slice(0, 120)]) {
    try {
      authenticateToken(bad, { domain: "", username: "u" }, "p", "W");
      assert.unreachable("should refuse");
    } catch (err) {
      assert.instance(err, CollectError);
      assert.is((err as CollectError).code, "protocol");
    }
  }
});

test.run();
