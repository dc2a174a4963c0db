import { test } from "uvu";
import * as assert from "uvu/assert";
import { openLabAppliance, quietLog } from "../appliance/serve/_test-lab.ts";
import { startStatusServer } from "../appliance/serve/index.ts";
import { freePort } from "../node/_test-ports.ts";
import { run } from "./appliance-status.ts";

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const [log, error] = [console.log, console.error];
  let out = "";
  let err = "";
  console.log = (...a: unknown[]) => void (out += `${a.join(" ")}\n`);
  console.error = (...a: unknown[]) => void (err += `${a.join(" ")}\n`);
  try {
    return { code: await fn(), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

test("osiris appliance status prints a running appliance's page as plain text, and --json the report", async () => {
  const lab = await openLabAppliance({ relay: true });
  const config = { ...lab.config, status_page: { ...lab.config.status_page, port: 0, bind: ["127.0.0.1"], mdns: false } };
  const page = await startStatusServer(lab.appliance, config, quietLog, { clock: lab.clock, assetsDir: "/nonexistent-osiris-assets" });
  try {
    const text = await capture(() => run(["--url", page.urls[0]!]));
    assert.is(text.code, 0);
    assert.match(text.out, /^Riverside Family Clinic {2}\[SIMULATED/);
    assert.match(text.out, /3 items need attention — your IT provider has been notified/);
    assert.match(text.out, /RFC-FS01: An outdated file-sharing method is off — fix scheduled for Sat 02:00/);
    assert.ok(text.out.includes(`Key fingerprint:     ${lab.appliance.identity.fingerprint}`));
    const json = await capture(() => run(["--url", page.urls[0]!.replace(/\/$/, ""), "--json"]));
    assert.is((JSON.parse(json.out) as { schema: string }).schema, "osiris.status/v1");
    const api = await capture(() => run(["--url", `${page.urls[0]!.replace(/\/$/, "")}/api/status`, "--json"]));
    assert.is(api.code, 0, `the API's own address works too: ${api.err}`);
  } finally {
    await page.close();
    await lab.close();
  }
});

test("osiris appliance status exits 1 with the reason when the page cannot be reached, 2 on a bad URL", async () => {
  const closed = await freePort(); // nothing listens there
  const down = await capture(() => run(["--url", `http://127.0.0.1:${closed}/`]));
  assert.is(down.code, 1);
  assert.is(down.err, `osiris appliance status: cannot reach the appliance status page at http://127.0.0.1:${closed}/: connection refused (is the appliance running?)\n`);
  assert.is((await capture(() => run(["--url", "not a url"]))).code, 2);
  const ftp = await capture(() => run(["--url", "ftp://127.0.0.1/"]));
  assert.is(ftp.code, 2);
  assert.match(ftp.err, /--url must be an http\(s\) URL/);
});

test("osiris appliance status --help states the real default URL", async () => {
  const help = await capture(() => run(["--help"]));
  assert.is(help.code, 0);
  assert.match(help.out, /--url +the appliance's status page \(default http:\/\/127\.0\.0\.1:8080\/;/);
  assert.not.match(help.out, /\[--url http:\/\/osiriscare-appliance\.local/);
});

test.run();
