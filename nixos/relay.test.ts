/**
 * services.osiris-relay's command line, evaluated for real without nixpkgs: the option values (module
 * defaults filled in, types checked) go through ./config.nix `relayArgs` and the module's own ExecStart and
 * LoadCredential. The result must be accepted by the real `osiris relay serve` parser (cli/relay-serve.ts), name
 * every secret by its LoadCredential copy, and survive systemd's command-line unquoting unchanged.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseServeArgs, SERVE_OPTIONS } from "../cli/relay-serve.ts";
import { RELAY_NODE_OPTIONS, RELAY_YOUNG_GENERATION_MIB } from "../relay/node-options.ts";
import { evalJson } from "./_test-nix.ts";

const PACKAGE = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4p5q-osiris-1.0.0";
const CREDS = "/run/credentials/osiris-relay.service";

/**
 * Nix: the relay module for SETTINGS (a subset of the options): module defaults filled in (also inside the
 * nullable submodules), every value checked against its option type like the module system would.
 */
const MODULE = `settings: let
  lib = import ./nixos/ci/stub-lib.nix;
  pure = import ./nixos/config.nix;
  module = cfg: import ./nixos/relay.nix { inherit lib; config.services.osiris-relay = cfg; pkgs = throw "no nixpkgs in CI"; };
  opts = (module (throw "options only")).options.services.osiris-relay;
  defaultsOf = options: builtins.mapAttrs (n: o: o.default) (lib.filterAttrs (n: o: o ? default) options);
  fill = n: v: let t = opts.\${n}.type; in
    if v != null && t.name == "nullOr" && t.elemType.name == "submodule" then defaultsOf t.elemType.options // v else v;
  unknown = builtins.filter (n: !(opts ? \${n})) (builtins.attrNames settings);
  cfg = defaultsOf opts // builtins.mapAttrs fill settings // { package = "${PACKAGE}"; };
  wrong = builtins.filter (n: n != "package" && !(opts.\${n}.type.check cfg.\${n})) (builtins.attrNames cfg);
  service = (module cfg).config.content.systemd.services.osiris-relay;
  unit = service.serviceConfig;
in
  if unknown != [ ] then throw "unknown option(s) \${builtins.toJSON unknown}"
  else if wrong != [ ] then throw "not of the option's type: \${builtins.toJSON wrong}"
  else { args = pure.relayArgs cfg; inherit (unit) ExecStart LoadCredential EnvironmentFile MemoryMax; inherit (service.environment) NODE_OPTIONS; }`;

interface Evaluated {
  args: string[];
  ExecStart: string;
  LoadCredential: string[];
  EnvironmentFile: string[];
  MemoryMax: string;
  NODE_OPTIONS: string;
}

function relay(settings: string): Evaluated {
  return evalJson(`(${MODULE}) (${settings})`) as Evaluated;
}

/** Every setting the module has, with secrets in /etc/osiris (root-only files on the host). */
const FULL = `{
  database = "libsql://relay-db.internal:8080";
  databaseAuthTokenFile = "/etc/osiris/db-token";
  signingKeyFile = "/etc/osiris/relay.key";
  listenAddress = "0.0.0.0";
  port = 443;
  tlsCertFile = "/etc/osiris/relay.pem";
  tlsKeyFile = "/etc/osiris/relay-key.pem";
  publicUrl = "https://relay.example-msp.com";
  trustedProxies = [ "10.0.0.0/8" "fd00::/8" ];
  smtp = { url = "smtps://smtp.example-msp.com:465"; from = "compliance@example-msp.com"; };
  metricsTokenFile = "/etc/osiris/metrics.token";
  vaultKeyFile = "/etc/osiris/vault-2026-11.key";
  vaultPreviousKeyFiles = [ "/etc/osiris/vault.key" "/etc/osiris/vault-2025.key" ];
  l2 = { url = "https://llm.example-msp.com/v1/chat/completions"; model = "llama-3.1-70b"; apiKeyFile = "/etc/osiris/llm.key"; };
  archive = { endpoint = "https://s3.us-east-1.amazonaws.com"; bucket = "example-msp-evidence"; retentionDays = 2200; credentialsFile = "/etc/osiris/archive.json"; };
  packetFrameworks = [ "hipaa" "soc2" ];
  environmentFile = "/etc/osiris/relay.env";
}`;

/**
 * systemd's reading of a command line made only of double-quoted words: C escapes inside the quotes, then
 * `%%` and `$$` back to `%` and `$`. Refuses anything else (an unquoted word, a lone % or $).
 */
function systemdWords(line: string): string[] {
  const words: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*")/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(line))) {
    const quoted = m[1]!;
    if (/(^|[^%])%(?!%)|(^|[^$])\$(?!\$)/.test(quoted.replace(/%%|\$\$/g, ""))) throw new Error(`unescaped specifier or variable in ${quoted}`);
    words.push((JSON.parse(quoted) as string).replace(/%%/g, "%").replace(/\$\$/g, "$"));
    end = re.lastIndex;
  }
  if (end !== line.length) throw new Error(`not a sequence of quoted words at ${JSON.stringify(line.slice(end))}`);
  return words;
}

test("the defaults run `osiris relay serve` on loopback with the database and both keys in the state directory", () => {
  const r = relay("{ }");
  assert.equal(r.args, [
    "relay", "serve",
    "--db", "/var/lib/osiris-relay/relay.db",
    "--host", "127.0.0.1",
    "--port", "8443",
    "--key-file", "/var/lib/osiris-relay/osiris-relay.key",
    "--vault-key-file", "/var/lib/osiris-relay/osiris-vault.key",
  ]);
  assert.equal(systemdWords(r.ExecStart), [`${PACKAGE}/bin/osiris`, ...r.args]);
  assert.equal(r.LoadCredential, []);
  assert.equal(r.EnvironmentFile, []);
  assert.not.ok(r.ExecStart.includes("--config"), "relay serve has no --config flag");
});

test("the service runs node with the relay's production options (relay/node-options.ts), its heap inside MemoryMax", () => {
  for (const [setting, memoryMax] of [["{ }", 1024], ["{ memoryMaxMiB = 4096; }", 4096]] as const) {
    const r = relay(setting);
    assert.is(r.MemoryMax, `${memoryMax}M`);
    const options = r.NODE_OPTIONS.split(" ");
    for (const o of RELAY_NODE_OPTIONS) assert.ok(options.includes(o), `NODE_OPTIONS ${r.NODE_OPTIONS} lacks ${o}`);
    const oldSpace = Number(/^--max-old-space-size=(\d+)$/.exec(options.find((o) => o.startsWith("--max-old-space-size=")) ?? "")?.[1]);
    assert.is(oldSpace + RELAY_YOUNG_GENERATION_MIB, (memoryMax * 3) / 4, "old + young generation = three quarters of MemoryMax");
    assert.is(options.length, RELAY_NODE_OPTIONS.length + 1, "nothing else");
  }
});

test("every setting becomes a flag the real `osiris relay serve` parser accepts, with secrets read from $CREDENTIALS_DIRECTORY", () => {
  const r = relay(FULL);
  assert.is(r.args[0], "relay");
  assert.is(r.args[1], "serve");
  const v = parseServeArgs(r.args.slice(2));
  assert.equal(
    { ...v },
    {
      db: "libsql://relay-db.internal:8080",
      "db-token-file": `${CREDS}/database-token`,
      host: "0.0.0.0",
      port: "443",
      "key-file": `${CREDS}/signing-key`,
      "vault-key-file": `${CREDS}/vault-key`,
      "vault-previous-key-file": [`${CREDS}/vault-previous-key-0`, `${CREDS}/vault-previous-key-1`],
      "tls-cert": `${CREDS}/tls-cert`,
      "tls-key": `${CREDS}/tls-key`,
      "public-url": "https://relay.example-msp.com",
      "trust-proxy": "10.0.0.0/8,fd00::/8",
      "smtp-url": "smtps://smtp.example-msp.com:465",
      "smtp-from": "compliance@example-msp.com",
      "metrics-token-file": `${CREDS}/metrics-token`,
      "l2-url": "https://llm.example-msp.com/v1/chat/completions",
      "l2-model": "llama-3.1-70b",
      "l2-key-file": `${CREDS}/l2-api-key`,
      "archive-endpoint": "https://s3.us-east-1.amazonaws.com",
      "archive-bucket": "example-msp-evidence",
      "archive-retention-days": "2200",
      "archive-credentials-file": `${CREDS}/archive-credentials`,
      "packet-frameworks": "hipaa,soc2",
    },
  );
  // Each credential the flags name is one the unit loads, from the file the option gave.
  assert.equal(r.LoadCredential, [
    "signing-key:/etc/osiris/relay.key",
    "database-token:/etc/osiris/db-token",
    "tls-cert:/etc/osiris/relay.pem",
    "tls-key:/etc/osiris/relay-key.pem",
    "metrics-token:/etc/osiris/metrics.token",
    "vault-key:/etc/osiris/vault-2026-11.key",
    "vault-previous-key-0:/etc/osiris/vault.key",
    "vault-previous-key-1:/etc/osiris/vault-2025.key",
    "l2-api-key:/etc/osiris/llm.key",
    "archive-credentials:/etc/osiris/archive.json",
  ]);
  const loaded = new Set(r.LoadCredential.map((c) => `${CREDS}/${c.split(":")[0]}`));
  for (const a of r.args.filter((x) => x.startsWith(`${CREDS}/`))) assert.ok(loaded.has(a), `${a} is loaded by LoadCredential`);
  assert.not.ok(r.args.some((a) => a.startsWith("/etc/osiris/")), "no secret file is read from its original path");
  assert.equal(r.EnvironmentFile, ["/etc/osiris/relay.env"]);
  assert.equal(systemdWords(r.ExecStart), [`${PACKAGE}/bin/osiris`, ...r.args]);
});

test("every flag the module can generate is one `osiris relay serve` declares", () => {
  const flags = relay(FULL).args.filter((a) => a.startsWith("--")).map((a) => a.slice(2));
  const withConfigFile = relay(`{ l2 = { configFile = "/etc/osiris/l2.yaml"; }; archive = { endpoint = "https://s3.example"; bucket = "b"; region = "eu-central-1"; }; }`);
  flags.push(...withConfigFile.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2)));
  assert.ok(flags.includes("l2-config") && flags.includes("archive-region"));
  for (const f of flags) assert.ok(f in SERVE_OPTIONS, `--${f} is a flag of osiris relay serve`);
  assert.equal({ ...parseServeArgs(withConfigFile.args.slice(2)) }["l2-config"], "/etc/osiris/l2.yaml");
});

test("ExecStart quotes spaces and quotes, and keeps systemd from expanding % and $", () => {
  const r = relay(`{ publicUrl = "https://relay.example.com/a b\\"c%i$HOME"; }`);
  assert.ok(r.args.includes('https://relay.example.com/a b"c%i$HOME'));
  assert.match(r.ExecStart, /"https:\/\/relay\.example\.com\/a b\\"c%%i\$\$HOME"/);
  assert.equal(systemdWords(r.ExecStart), [`${PACKAGE}/bin/osiris`, ...r.args]);
});

test("the module refuses wrong values the way the module system would", () => {
  assert.throws(() => relay(`{ packetFrameworks = [ "pci" ]; }`), (e: unknown) => /packetFrameworks/.test(String(e)));
  assert.throws(() => relay(`{ smtp = { url = "http://mail.example"; }; }`), (e: unknown) => /smtp/.test(String(e)));
  assert.throws(() => relay(`{ memoryMaxMiB = 256; }`), (e: unknown) => /memoryMaxMiB/.test(String(e)), "too small for the young generation");
  assert.throws(() => relay(`{ logLevel = "debug"; }`), (e: unknown) => /unknown option/.test(String(e)), "the relay has no log level flag");
});

test.run();
