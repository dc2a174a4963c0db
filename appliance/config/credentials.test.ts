import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCredentialsFile } from "./credentials.ts";
import { ConfigError } from "./errors.ts";

const SECRET = "Tr0ub4dor&3-planted-secret";

async function withFile(text: string, mode: number, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-creds-"));
  try {
    const path = join(dir, "credentials.yaml");
    await writeFile(path, text);
    await chmod(path, mode);
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rejection(path: string): Promise<ConfigError> {
  try {
    await loadCredentialsFile(path);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.unreachable("loaded");
  throw new Error("unreachable");
}

test("loads password and ssh_key credentials by name", async () => {
  const text = `credentials:
  clinic-admin: { type: password, username: 'CLINIC\\osiris', password: '${SECRET}', domain: CLINIC }
  linux-key:
    type: ssh_key
    username: osiris
    private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\\n${SECRET}\\n-----END OPENSSH PRIVATE KEY-----\\n"
`;
  await withFile(text, 0o600, async (path) => {
    const creds = await loadCredentialsFile(path);
    assert.equal([...creds.keys()], ["clinic-admin", "linux-key"]);
    const admin = creds.get("clinic-admin");
    assert.ok(admin?.type === "password" && admin.password === SECRET && admin.domain === "CLINIC");
    const key = creds.get("linux-key");
    assert.ok(key?.type === "ssh_key" && key.private_key.includes(SECRET));
  });
});

test("credentials print redacted through JSON.stringify and util.inspect", async () => {
  await withFile(`credentials:\n  a: { type: password, username: u, password: '${SECRET}' }\n`, 0o600, async (path) => {
    const creds = await loadCredentialsFile(path);
    const a = creds.get("a")!;
    assert.not.match(JSON.stringify(a), SECRET);
    assert.not.match(JSON.stringify({ creds: [...creds.values()] }), SECRET);
    assert.not.match(inspect(a), SECRET);
    assert.not.match(inspect(creds, { depth: 5 }), SECRET);
    assert.match(JSON.stringify(a), /\[redacted\]/);
    assert.ok(Object.isFrozen(a));
  });
});

test("a world-readable or group-writable file is refused with the mode seen", async () => {
  for (const mode of [0o644, 0o604, 0o620]) {
    await withFile("credentials: {}\n", mode, async (path) => {
      const e = await rejection(path);
      assert.is(e.code, "bad_permissions");
      assert.match(e.message, `saw mode 0${mode.toString(8)}; run chmod 600`);
    });
  }
  await withFile("credentials: {}\n", 0o640, async (path) => assert.is((await loadCredentialsFile(path)).size, 0));
});

test("errors name the key but never include the secret", async () => {
  const cases: [string, RegExp][] = [
    [`credentials:\n  a: { type: password, username: u, pasword: '${SECRET}' }\n`, /^\S+: credentials\.a\.pasword: unknown key "pasword" \(did you mean "password"\?\)$/],
    [`credentials:\n  a: { type: password, username: u, password: x, ${SECRET}: 1 }\n`, /credentials\.a: unknown key \(name not shown\)/],
    [`credentials:\n  a: { type: password, username: u }\n`, /credentials\.a\.password: is required \(string\)/],
    [`credentials:\n  a: { type: pasword, username: u, password: '${SECRET}' }\n`, /credentials\.a\.type: .*password.*ssh_key/],
    [`credentials:\n  a: { type: password, username: u, password: [${SECRET}] }\n`, /credentials\.a\.password: expected string \(value not shown\)/],
    [`credentials:\n  a: { type: password, username: u, password: '${SECRET}\n`, /YAML syntax error/],
    [`credentials:\n  a: { type: password, username: u, password: ${SECRET} }\n  a: {}\n`, /YAML syntax error/],
    [`${SECRET}\n`, /top level must be a mapping/],
  ];
  for (const [text, message] of cases) {
    await withFile(text, 0o600, async (path) => {
      const e = await rejection(path);
      assert.match(e.message, message);
      assert.not.match(e.message, SECRET.slice(0, 10), `secret in: ${e.message}`);
      assert.not.match(JSON.stringify(e.details), SECRET.slice(0, 10));
      assert.not.match(e.stack ?? "", SECRET.slice(0, 10));
    });
  }
});

test("a missing file is read_failed", async () => {
  const e = await rejection("/nonexistent/osiris/credentials.yaml");
  assert.is(e.code, "read_failed");
  assert.match(e.message, /ENOENT/);
});

test.run();
