/**
 * `/verify`: an external auditor with no account opens the relay's verify page, picks the kit ZIP they were
 * sent, and their browser verifies it (real relay serving the built dashboard, real Chromium). A kit with a
 * changed bundle fails, one whose SHA-256 is not the packet's (`?sha256=`) is refused, and signing in is
 * never asked for.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { fixtureRelaySigner, generateSignedKitFiles } from "../../fixtures/kit-generator.ts";
import { relayWitnessName } from "../../protocol/checkpoint.ts";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { readKitZip, writeKitZip } from "../../protocol/kit-files.ts";
import { E2EBrowser, launchChromium, PHONE, startUiRelay, type UiRelay } from "./_e2e.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = join(ROOT, "test-output/screenshots/verify-page");
const VALID = join(ROOT, "fixtures/kits/valid.zip");

let ui: UiRelay;
let browser: Browser;
let e2e: E2EBrowser;

test.before(async () => {
  ui = await startUiRelay();
  browser = await launchChromium();
  e2e = new E2EBrowser(browser, ui.relay.url, SHOTS);
  await e2e.prepareShots();
});
test.after(async () => {
  await browser?.close();
  await ui?.close();
});

/** Picks `file` (a name and its bytes) on the verify page and waits for the verdict. */
async function verdict(page: import("playwright-core").Page, name: string, bytes: Uint8Array): Promise<{ outcome: string | null; code: string | null; text: string }> {
  await page.getByLabel(/Choose the evidence kit/).setInputFiles({ name, mimeType: "application/zip", buffer: Buffer.from(bytes) });
  const result = page.locator("osiris-kit-verifier [data-outcome]");
  await result.waitFor({ timeout: 30_000 });
  return { outcome: await result.getAttribute("data-outcome"), code: await result.getAttribute("data-code"), text: await result.innerText() };
}

test("a signed-out auditor verifies the kit they were sent on /verify; a changed kit fails; one that is not the packet's is refused", async () => {
  const context = await e2e.newContext("auditor");
  const page = await context.newPage();
  await page.goto("/verify");
  await page.getByRole("heading", { level: 1, name: "Verify an evidence kit" }).waitFor();
  assert.is(new URL(page.url()).pathname, "/verify", "not sent to the login page");
  await e2e.axe(page, "/verify");

  const valid = new Uint8Array(await readFile(VALID));
  const ok = await verdict(page, "kit.zip", valid);
  assert.is(ok.outcome, "verified", ok.text);
  assert.match(ok.text, /Verified: the evidence is intact/);
  assert.match(ok.text, /The relay's signed manifest matches: site site_fixture0001/);
  await e2e.shot(page, "verify-valid");

  const files = readKitZip(valid);
  const lines = new TextDecoder().decode(files.get("bundles.jsonl")!);
  files.set("bundles.jsonl", new TextEncoder().encode(lines.replace('"outcome":"pass"', '"outcome":"fail"')));
  await page.reload();
  const bad = await verdict(page, "changed.zip", writeKitZip(files));
  assert.equal([bad.outcome, bad.code], ["failed", "bad_signature"], bad.text);
  assert.match(bad.text, /Verification FAILED: the evidence has been altered or is incomplete/);
  await e2e.shot(page, "verify-changed");

  // The packet printed another kit hash: this file is not the packet's evidence, whatever it holds.
  await page.goto(`/verify?sha256=${"0".repeat(64)}`);
  const other = await verdict(page, "kit.zip", valid);
  assert.equal([other.outcome, other.code], ["failed", "kit_mismatch"], other.text);
  e2e.noErrors("auditor");
});

test("with the relay key from the packet, the auditor's kit verifies as signed by it, and a kit rebuilt under another key fails", async () => {
  const realName = relayWitnessName(keyId(fixtureRelaySigner().publicKey));
  const stranger = createSigner(new Uint8Array(32).fill(9));
  const rebuilt = writeKitZip(await generateSignedKitFiles({ relay: stranger }));
  const valid = new Uint8Array(await readFile(VALID));
  const page = await (await e2e.newContext("auditor-key")).newPage();
  await page.goto("/verify");
  const keyField = page.getByLabel(/Relay key, as the packet prints it/);
  await keyField.waitFor();

  // Without a key the rebuilt kit checks out against its own keys: the page says which key signed it.
  const loose = await verdict(page, "rebuilt.zip", rebuilt);
  assert.is(loose.outcome, "verified", loose.text);
  assert.match(loose.text, new RegExp(`key ${keyId(stranger.publicKey)}\\)`));

  await page.reload();
  await keyField.fill(realName);
  const refused = await verdict(page, "rebuilt.zip", rebuilt);
  assert.equal([refused.outcome, refused.code], ["failed", "untrusted_key"], refused.text);
  assert.match(refused.text, /Verification FAILED: this kit is not signed by the relay key you gave/);
  assert.match(refused.text, new RegExp(`the manifest is signed by relay key ${keyId(stranger.publicKey)}, not by relay key ${keyId(fixtureRelaySigner().publicKey)}`));
  await e2e.shot(page, "verify-untrusted-key");

  // The key can come in the link (?relay_key=) as well as typed; the real kit is signed by it.
  await page.goto(`/verify?relay_key=${encodeURIComponent(realName)}`);
  assert.is(await keyField.inputValue(), realName);
  const trusted = await verdict(page, "kit.zip", valid);
  assert.is(trusted.outcome, "verified", trusted.text);
  assert.match(trusted.text, new RegExp(`key ${keyId(fixtureRelaySigner().publicKey)}, the relay key you gave\\)`));
  await e2e.shot(page, "verify-trusted-key");

  // A value that is not a relay key is named as such, and nothing is verified.
  await page.goto("/verify?relay_key=relay-2026");
  await page.getByLabel(/Choose the evidence kit/).setInputFiles({ name: "kit.zip", mimeType: "application/zip", buffer: Buffer.from(valid) });
  const alert = page.locator("osiris-kit-verifier [role=alert]");
  await alert.waitFor({ timeout: 30_000 });
  assert.match(await alert.innerText(), /"relay-2026" is not a relay key: give it as the packet prints it, osiriscare\.relay\/ followed by 16 hex digits/);
  assert.is(await page.locator("osiris-kit-verifier [data-outcome]").count(), 0, "no verdict without a valid key");
  e2e.noErrors("auditor-key");
});

test("the verify page fits a phone", async () => {
  const page = await (await e2e.newContext("phone", PHONE, true)).newPage();
  await page.goto("/verify");
  await page.getByRole("heading", { level: 1, name: "Verify an evidence kit" }).waitFor();
  await e2e.fitsWidth(page, "/verify");
  await e2e.shot(page, "verify-phone");
});

test.run();
