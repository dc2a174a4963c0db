import { test } from "uvu";
import * as assert from "uvu/assert";
import { RelayError } from "../errors.ts";
import { archiveConfig, archiveCredentials, ARCHIVE_ACCESS_KEY_ENV, ARCHIVE_SECRET_KEY_ENV, DEFAULT_RETENTION_DAYS } from "./config.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const good = { endpoint: "https://s3.example.com", bucket: "osiris-evidence", accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET };

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof RelayError && e.code === "config" && pattern.test(e.message) && !e.message.includes(SECRET));
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RelayError && e.code === "config", String(e));
    assert.match(e.message, pattern);
    assert.not.ok(e.message.includes(SECRET), "the secret is never shown");
    return;
  }
  assert.unreachable("expected a RelayError config");
}

test("archiveConfig() fills in the region and a six-year retention, and keeps the endpoint's root", () => {
  const c = archiveConfig({ ...good, endpoint: "https://s3.example.com/" });
  assert.equal(c, { s3: { endpoint: "https://s3.example.com", bucket: "osiris-evidence", region: "us-east-1", accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET }, retentionDays: DEFAULT_RETENTION_DAYS });
  assert.is(DEFAULT_RETENTION_DAYS, 2192);
  assert.is(archiveConfig({ ...good, endpoint: "http://127.0.0.1:7480", region: "eu-west-2", retentionDays: 30 }).retentionDays, 30);
});

test("archiveConfig() refuses a bad endpoint, bucket or retention, naming the setting and what it was", () => {
  refused(() => archiveConfig({ ...good, endpoint: "s3.example.com" }), /endpoint: must be an absolute URL.*"s3\.example\.com"/);
  refused(() => archiveConfig({ ...good, endpoint: "http://s3.lan:9000" }), /plain http:\/\/ is allowed only to a loopback address/);
  refused(() => archiveConfig({ ...good, endpoint: "https://key:secret@s3.example.com" }), /must not carry credentials/);
  refused(() => archiveConfig({ ...good, endpoint: "https://s3.example.com/osiris-evidence" }), /without a path/);
  refused(() => archiveConfig({ ...good, bucket: "Evidence_Bucket" }), /bucket: must be an S3 bucket name.*"Evidence_Bucket"/);
  refused(() => archiveConfig({ ...good, retentionDays: 0 }), /retentionDays/);
  refused(() => archiveConfig({ ...good, retentionDays: 1.5 }), /retentionDays/);
});

test("archiveConfig() refuses missing or malformed keys without showing them", () => {
  refused(() => archiveConfig({ ...good, secretAccessKey: "" }), /secret access key is missing/);
  refused(() => archiveConfig({ ...good, secretAccessKey: `${SECRET} with spaces` }), /secret access key must be .*value not shown; length/);
  refused(() => archiveConfig({ ...good, accessKeyId: "" }), /access key id is missing/);
});

test("archiveCredentials() reads the key pair from the environment or a JSON file, never both", async () => {
  const env = { [ARCHIVE_ACCESS_KEY_ENV]: "AKIDEXAMPLE", [ARCHIVE_SECRET_KEY_ENV]: SECRET };
  const noFile = async () => new Uint8Array();
  assert.equal(await archiveCredentials(env, { readFile: noFile }), { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET });
  const file = async (path: string) => (path === "/etc/osiris/archive.json" ? new TextEncoder().encode(JSON.stringify({ access_key_id: "AKIDFILE", secret_access_key: SECRET })) : Promise.reject(Object.assign(new Error("nope"), { code: "ENOENT" })));
  assert.equal(await archiveCredentials({}, { file: "/etc/osiris/archive.json", readFile: file }), { accessKeyId: "AKIDFILE", secretAccessKey: SECRET });
  await rejects(archiveCredentials(env, { file: "/etc/osiris/archive.json", readFile: file }), /either in .* or in a credentials file, not both/);
  await rejects(archiveCredentials({ [ARCHIVE_ACCESS_KEY_ENV]: "AKIDEXAMPLE" }, { readFile: noFile }), /OSIRIS_ARCHIVE_SECRET_ACCESS_KEY is empty/);
  await rejects(archiveCredentials({}, { readFile: noFile }), /needs credentials/);
  await rejects(archiveCredentials({}, { file: "/missing.json", readFile: file }), /Cannot read the archive credentials file \/missing\.json: ENOENT/);
});

test("archiveCredentials() refuses a file that is not the expected JSON without quoting its content", async () => {
  const text = (t: string) => async () => new TextEncoder().encode(t);
  await rejects(archiveCredentials({}, { file: "/f", readFile: text(`access_key_id=AKID\nsecret=${SECRET}`) }), /is not JSON .*content not shown/);
  await rejects(archiveCredentials({}, { file: "/f", readFile: text(JSON.stringify({ access_key_id: "AKID", secret: SECRET })) }), /must hold string fields/);
  await rejects(archiveCredentials({}, { file: "/f", readFile: text("x".repeat(5000)) }), /at most 4096 bytes/);
});

test.run();
