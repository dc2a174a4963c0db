import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findProvisioningFile, parseProvisioningFile, ProvisionError, provisionedRelay } from "./usb-config.ts";

const CODE = "7KQ2M-XH3PD-0W9RT-ZB4NC";

function refusal(text: string): ProvisionError {
  try {
    parseProvisioningFile(text, "osiris.yaml");
  } catch (e) {
    if (e instanceof ProvisionError) return e;
    throw e;
  }
  throw new Error("accepted");
}

test("parseProvisioningFile accepts relay_url and claim_code and normalises the code", () => {
  const f = parseProvisioningFile(`relay_url: https://relay.example.com\nclaim_code: ${CODE.toLowerCase()}\n`, "osiris.yaml");
  assert.equal(f, { path: "osiris.yaml", relay_url: "https://relay.example.com", claim_code: CODE.replaceAll("-", "") });
});

test("parseProvisioningFile names the field that is wrong, never quoting the code or the file", () => {
  const cases: [string, string, RegExp][] = [
    [`relay_url: https://r.example\n`, "claim_code", /claim_code: missing/],
    [`claim_code: ${CODE}\n`, "relay_url", /relay_url: missing/],
    [`relay_url: https://r.example\nclaim_code: ${CODE}\nsite: x\n`, "site", /site: unknown field/],
    [`relay_url: relay.example.com\nclaim_code: ${CODE}\n`, "relay_url", /relay_url: must be an absolute URL/],
    [`relay_url: ftp://relay.example.com\nclaim_code: ${CODE}\n`, "relay_url", /relay_url: must be an https:\/\/ URL/],
    [`relay_url: https://r.example\nclaim_code: 12345\n`, "claim_code", /claim_code: must be text/],
    [`relay_url: https://r.example\nclaim_code: QQQQQ-QQQQQ\n`, "claim_code", /claim_code: is not a claim code/],
  ];
  for (const [text, field, message] of cases) {
    const e = refusal(text);
    assert.is(e.field, field, text);
    assert.match(e.message, message);
    assert.not.ok(e.message.includes("QQQQQ"));
  }
  const yaml = refusal(`relay_url: [\nclaim_code: ${CODE}\n`);
  assert.match(yaml.message, /^osiris\.yaml(:\d+:\d+)?: YAML syntax error/);
  assert.not.ok(yaml.message.includes(CODE));
  assert.match(refusal(`- ${CODE}\n`).message, /top level must be a mapping/);
});

test("provisionedRelay refuses a relay_url other than the configured relay, and uses the file's when none is configured", () => {
  const file = { path: "osiris.yaml", relay_url: "https://relay.example.com/", claim_code: "x" };
  assert.is(provisionedRelay(file, "https://relay.example.com"), "https://relay.example.com");
  assert.is(provisionedRelay(file, undefined), "https://relay.example.com/");
  assert.throws(() => provisionedRelay(file, "https://other.example.com"), (e: unknown) => e instanceof ProvisionError && e.code === "relay_mismatch" && /can only reach the relay it was set up for/.test(e.message));
});

test("findProvisioningFile matches the glob, answers null without a stick, and refuses two candidates", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-usb-"));
  try {
    const glob = join(dir, "*", "osiris.yaml");
    assert.is(await findProvisioningFile(glob), null);
    await mkdir(join(dir, "a"));
    await writeFile(join(dir, "a", "osiris.yaml"), "x");
    assert.is(await findProvisioningFile(glob), join(dir, "a", "osiris.yaml"));
    await mkdir(join(dir, "b"));
    await writeFile(join(dir, "b", "osiris.yaml"), "x");
    const two = await findProvisioningFile(glob).then(() => null, (e: unknown) => e);
    assert.ok(two instanceof ProvisionError && two.code === "ambiguous", String(two));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
