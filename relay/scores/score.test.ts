import { test } from "uvu";
import * as assert from "uvu/assert";
import { CATEGORY_WEIGHTS, catalogue as shipped, type Category, type Platform } from "../../protocol/catalogue/mod.ts";
import { createSigner, generateKeyPair } from "../../protocol/crypto.ts";
import { buildBundle, GENESIS_PREV_HASH, signBundle, type CheckResult } from "../../protocol/evidence.ts";
import { dailyHistory, resultsFromBundleLines, scoreSite, type ScoreInput, type ScoringCatalogue, type ScoringCheck } from "./mod.ts";

// A small catalogue so every expectation can be computed by hand. Weights are the real CATEGORY_WEIGHTS
// (encryption 15, access_control 13, backup 13), which the catalogue alone owns.
const CHECKS: ScoringCheck[] = [
  { id: "linux.disk_encrypted", category: "encryption", platform: "linux", freshness_limit_hours: 24, controls: { hipaa: ["164.312(a)(2)(iv)"], soc2: [], glba: [] } },
  { id: "linux.ssh_root", category: "access_control", platform: "linux", freshness_limit_hours: 24, controls: { hipaa: ["164.312(d)"], soc2: ["CC6.1"], glba: [] } },
  { id: "linux.backup_recent", category: "backup", platform: "linux", freshness_limit_hours: 48, controls: { hipaa: ["164.308(a)(7)(ii)(A)"], soc2: [], glba: [] } },
  { id: "linux.mfa", category: "access_control", platform: "linux", freshness_limit_hours: 24, controls: { hipaa: ["164.312(d)"], soc2: [], glba: [] } },
  { id: "windows.bitlocker", category: "encryption", platform: "windows", freshness_limit_hours: 24, controls: { hipaa: ["164.312(a)(2)(iv)"], soc2: [], glba: [] } },
];
const cat: ScoringCatalogue = {
  findCheck: (id) => CHECKS.find((c) => c.id === id),
  listChecks: () => CHECKS,
  listControls: () => [
    { framework: "hipaa", id: "164.312(a)(2)(iv)" },
    { framework: "hipaa", id: "164.312(d)" },
    { framework: "hipaa", id: "164.308(a)(7)(ii)(A)" },
    { framework: "soc2", id: "CC6.1" },
  ],
};

const NOW = new Date("2026-11-30T12:00:00.000Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const r = (host_id: string, check: string, status: ScoreResult["status"], h: number, appliance_id = "app_aaaaaaaa"): ScoreInput => ({ appliance_id, host_id, check, status, finished_at: hoursAgo(h) });
type ScoreResult = Extract<ScoreInput, { check: string }>;
const down = (host_id: string, h: number, appliance_id = "app_aaaaaaaa"): ScoreInput => ({ appliance_id, host_id, check: null, status: "error", finished_at: hoursAgo(h) });
const close = (actual: number | null, expected: number) => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);
};

test("scoreSite() gives null (no data), never 100, when there are no results", () => {
  const s = scoreSite([], { now: NOW, catalogue: cat });
  assert.is(s.overall, null);
  for (const c of Object.values(s.categories)) assert.equal(c, { score: null, pass: 0, fail: 0, error: 0, not_applicable: 0, hosts: 0 });
  assert.equal(s.controls["hipaa:164.312(d)"], { ready: false, reason: "no_data", blocking: [] });
  assert.equal(s.latest, []);
});

test("scoreSite() ignores results older than 30 days: stale-only data is null", () => {
  // 30 days = 720 h; 721 h is outside the window.
  const s = scoreSite([r("h1", "linux.disk_encrypted", "pass", 721), r("h1", "linux.ssh_root", "fail", 800)], { now: NOW, catalogue: cat });
  assert.is(s.overall, null);
  assert.is(s.categories.encryption.score, null);
  // Exactly 30 days old still counts (the window is inclusive).
  close(scoreSite([r("h1", "linux.disk_encrypted", "pass", 720)], { now: NOW, catalogue: cat }).overall, 100);
});

test("scoreSite() excludes not_applicable; an all-n/a site has no data", () => {
  const s = scoreSite([r("h1", "linux.disk_encrypted", "not_applicable", 1)], { now: NOW, catalogue: cat });
  assert.is(s.overall, null);
  assert.is(s.categories.encryption.not_applicable, 1);
  assert.is(s.categories.encryption.hosts, 0);
});

test("scoreSite() counts an unreachable host's last reported checks as errors", () => {
  const cycle = (host: string, h: number) => [r(host, "linux.disk_encrypted", "pass", h), r(host, "linux.ssh_root", "pass", h), r(host, "linux.mfa", "not_applicable", h)];
  // Baseline: h1, h2, h3 all pass both applicable checks → encryption 3/3, access_control 3/3 → 100.
  const healthy = [...cycle("h1", 2), ...cycle("h2", 2), ...cycle("h3", 2)];
  close(scoreSite(healthy, { now: NOW, catalogue: cat }).overall, 100);

  // h3 unreachable 1 h ago (after its last results): its 2 applicable checks become error, mfa stays n/a.
  // encryption = 2 pass / 3 applicable × 100 = 66.666…; access_control = 2/3 × 100 = 66.666…
  // overall = (15 × 66.666… + 13 × 66.666…) / (15 + 13) = 66.666…
  const s = scoreSite([...healthy, down("h3", 1)], { now: NOW, catalogue: cat });
  close(s.categories.encryption.score, 200 / 3);
  assert.is(s.categories.encryption.error, 1);
  assert.is(s.categories.access_control.error, 1);
  assert.is(s.categories.access_control.not_applicable, 3);
  close(s.overall, 200 / 3);
  const h3 = s.latest.filter((l) => l.host_id === "h3");
  assert.equal(h3.map((l) => [l.check, l.status, l.unreachable, l.finished_at]), [
    ["linux.disk_encrypted", "error", true, hoursAgo(1)],
    ["linux.mfa", "not_applicable", false, hoursAgo(2)],
    ["linux.ssh_root", "error", true, hoursAgo(1)],
  ]);
  // The unreachable host's control evidence could not be gathered, so the controls are not ready.
  assert.equal(s.controls["hipaa:164.312(a)(2)(iv)"], { ready: false, reason: "unchecked", blocking: ["linux.disk_encrypted"] });

  // A result newer than the unreachable mark wins again (the host came back): 100.
  close(scoreSite([...healthy, down("h3", 1), ...cycle("h3", 0.5)], { now: NOW, catalogue: cat }).overall, 100);
});

test("scoreSite() merges a site's two appliances: the latest result per check and host wins", () => {
  const A = "app_aaaaaaaa";
  const B = "app_bbbbbbbb";
  const inputs = [
    // h1 disk: A says pass 10 h ago, B says fail 2 h ago → fail (B newer).
    r("h1", "linux.disk_encrypted", "pass", 10, A),
    r("h1", "linux.disk_encrypted", "fail", 2, B),
    // h2 disk: A says pass 1 h ago, B says fail 5 h ago → pass (A newer).
    r("h2", "linux.disk_encrypted", "pass", 1, A),
    r("h2", "linux.disk_encrypted", "fail", 5, B),
    // h1 ssh: both at the same instant, pass vs fail → the worse (fail) wins the tie.
    r("h1", "linux.ssh_root", "pass", 3, A),
    r("h1", "linux.ssh_root", "fail", 3, B),
    // h2 ssh: only B → pass.
    r("h2", "linux.ssh_root", "pass", 4, B),
  ];
  const s = scoreSite(inputs, { now: NOW, catalogue: cat });
  // encryption: 1 pass / 2 = 50; access_control: 1 pass / 2 = 50; overall = (15×50 + 13×50)/28 = 50.
  close(s.categories.encryption.score, 50);
  close(s.categories.access_control.score, 50);
  assert.is(s.categories.encryption.hosts, 2);
  close(s.overall, 50);
  assert.equal(
    s.latest.map((l) => `${l.check}/${l.host_id}=${l.status}@${l.appliance_id}`),
    ["linux.disk_encrypted/h1=fail@app_bbbbbbbb", "linux.disk_encrypted/h2=pass@app_aaaaaaaa", "linux.ssh_root/h1=fail@app_bbbbbbbb", "linux.ssh_root/h2=pass@app_bbbbbbbb"],
  );
  // Input order does not matter.
  assert.equal(scoreSite([...inputs].reverse(), { now: NOW, catalogue: cat }), s);
});

test("scoreSite() renormalises category weights over the categories that have data", () => {
  const s = scoreSite(
    [
      r("h1", "linux.disk_encrypted", "pass", 1), // encryption 1/1 = 100
      r("h1", "linux.backup_recent", "pass", 1), //  backup 1/2 = 50
      r("h2", "linux.backup_recent", "error", 1),
    ],
    { now: NOW, catalogue: cat },
  );
  assert.is(CATEGORY_WEIGHTS.encryption, 15);
  assert.is(CATEGORY_WEIGHTS.backup, 13);
  // Only encryption (15) and backup (13) have data: (15 × 100 + 13 × 50) / (15 + 13) = 2150 / 28 = 76.7857…
  close(s.overall, 2150 / 28);
  assert.is(s.categories.access_control.score, null);
});

test("scoreSite() makes a control ready only with fresh, passing evidence for every mapped check", () => {
  // hipaa:164.312(d) maps linux.ssh_root and linux.mfa (both 24 h freshness).
  const fresh = scoreSite([r("h1", "linux.ssh_root", "pass", 23), r("h1", "linux.mfa", "pass", 1)], { now: NOW, catalogue: cat });
  assert.equal(fresh.controls["hipaa:164.312(d)"], { ready: true, reason: "ready", blocking: [] });
  // 25 h old ≥ 24 h limit: stale, though it passes and still counts for the score (within 30 days).
  const stale = scoreSite([r("h1", "linux.ssh_root", "pass", 25), r("h1", "linux.mfa", "pass", 1)], { now: NOW, catalogue: cat });
  assert.equal(stale.controls["hipaa:164.312(d)"], { ready: false, reason: "stale", blocking: ["linux.ssh_root"] });
  close(stale.categories.access_control.score, 100);
  // backup freshness is 48 h: 25 h old is fresh there.
  assert.is(scoreSite([r("h1", "linux.backup_recent", "pass", 25)], { now: NOW, catalogue: cat }).controls["hipaa:164.308(a)(7)(ii)(A)"]!.ready, true);
});

test("scoreSite() says a control is blocked by a check that could not run, apart from a failing one", () => {
  const errored = scoreSite([r("h1", "linux.ssh_root", "error", 1), r("h1", "linux.mfa", "pass", 1)], { now: NOW, catalogue: cat });
  assert.equal(errored.controls["hipaa:164.312(d)"], { ready: false, reason: "unchecked", blocking: ["linux.ssh_root"] });
  const both = scoreSite([r("h1", "linux.ssh_root", "error", 1), r("h1", "linux.mfa", "fail", 1)], { now: NOW, catalogue: cat });
  assert.equal(both.controls["hipaa:164.312(d)"], { ready: false, reason: "failing", blocking: ["linux.mfa", "linux.ssh_root"] }, "a failure is named first");
});

test("scoreSite() requires every mapped check of the site's platforms, not of absent ones", () => {
  // Only ssh_root reported: mfa (same platform) is missing; soc2:CC6.1 maps only ssh_root → ready.
  const s = scoreSite([r("h1", "linux.ssh_root", "pass", 1)], { now: NOW, catalogue: cat });
  assert.equal(s.controls["hipaa:164.312(d)"], { ready: false, reason: "missing", blocking: ["linux.mfa"] });
  assert.equal(s.controls["soc2:CC6.1"], { ready: true, reason: "ready", blocking: [] });
  // hipaa:164.312(a)(2)(iv) maps linux.disk_encrypted and windows.bitlocker; a Linux-only site needs only the first.
  const linuxOnly = scoreSite([r("h1", "linux.disk_encrypted", "pass", 1)], { now: NOW, catalogue: cat });
  assert.is(linuxOnly.controls["hipaa:164.312(a)(2)(iv)"]!.ready, true);
  // mfa n/a on every host is not required.
  const na = scoreSite([r("h1", "linux.ssh_root", "pass", 1), r("h1", "linux.mfa", "not_applicable", 1)], { now: NOW, catalogue: cat });
  assert.is(na.controls["hipaa:164.312(d)"]!.reason, "ready");
});

test("scoreSite() leaves out unknown checks and rejects bad input and mixed sites", () => {
  const s = scoreSite([r("h1", "linux.gone", "fail", 1), r("h1", "linux.disk_encrypted", "pass", 1)], { now: NOW, catalogue: cat });
  close(s.overall, 100);
  assert.equal(s.unknown_checks, ["linux.gone"]);
  assert.throws(() => scoreSite([{ ...r("h1", "linux.ssh_root", "pass", 1), finished_at: "yesterday" }], { now: NOW, catalogue: cat }), /'finished_at' is not an ISO time: current value is "yesterday"/);
  assert.throws(
    () => scoreSite([{ ...r("h1", "linux.ssh_root", "pass", 1), site_id: "site_aaaaaaaa" }, { ...r("h1", "linux.ssh_root", "pass", 1), site_id: "site_bbbbbbbb" }], { now: NOW, catalogue: cat }),
    /several sites/,
  );
});

test("scoreSite() works with the shipped catalogue and its weights", () => {
  const enc = shipped.listChecks({ category: "encryption" })[0]!;
  const fw = shipped.listChecks({ category: "firewall" })[0]!;
  const s = scoreSite([r("h1", enc.id, "pass", 1), r("h1", fw.id, "fail", 1)], { now: NOW });
  // (15 × 100 + 10 × 0) / (15 + 10) = 60
  close(s.overall, (CATEGORY_WEIGHTS.encryption * 100) / (CATEGORY_WEIGHTS.encryption + CATEGORY_WEIGHTS.firewall));
  close(s.overall, 60);
  assert.ok(Object.keys(s.controls).length > 0);
  for (const key of shipped.controlKeysFor(fw.id)) assert.is(s.controls[key]!.ready, false);
});

test("dailyHistory() scores each day's end with the same rules", () => {
  const at = (iso: string, check: string, status: ScoreResult["status"]): ScoreInput => ({ appliance_id: "app_aaaaaaaa", host_id: "h1", check, status, finished_at: iso });
  const inputs = [
    at("2026-11-02T10:00:00.000Z", "linux.disk_encrypted", "fail"), // Nov 2: encryption 0 → 0
    at("2026-11-03T10:00:00.000Z", "linux.disk_encrypted", "pass"), // Nov 3: encryption 100 → 100
    at("2026-11-03T23:59:59.999Z", "linux.ssh_root", "fail"), //       same day end: (15×100 + 13×0)/28 = 53.571…
  ];
  const h = dailyHistory(inputs, { from: "2026-11-01", to: "2026-11-04", catalogue: cat });
  assert.is(h.length, 4);
  assert.equal(h[0], { day: "2026-11-01", overall: null });
  assert.equal(h[1], { day: "2026-11-02", overall: 0 });
  close(h[2]!.overall, 1500 / 28);
  close(h[3]!.overall, 1500 / 28);
  // 30-day window (inclusive) at each day end:
  // Dec 2 23:59:59.999 — Nov 3 10:00 is 29 d 14 h old, still in → 1500/28 as on Nov 3.
  // Dec 3 23:59:59.999 — Nov 3 10:00 is 30 d 14 h old, out; the ssh fail (Nov 3 23:59:59.999) is exactly
  //                      30 d old, in → only access_control 0/1 → overall 0.
  // Dec 4 23:59:59.999 — everything older than 30 days → null.
  const late = dailyHistory(inputs, { from: "2026-12-02", to: "2026-12-04", catalogue: cat });
  close(late[0]!.overall, 1500 / 28);
  assert.equal(late[1], { day: "2026-12-03", overall: 0 });
  assert.equal(late[2], { day: "2026-12-04", overall: null });
  assert.throws(() => dailyHistory(inputs, { from: "2026-11-05", to: "2026-11-04" }), /'from' must not be after 'to'/);
  assert.throws(() => dailyHistory(inputs, { from: "Nov 1", to: "2026-11-04" }), /'from' must be a day YYYY-MM-DD/);
});

test("resultsFromBundleLines() turns check cycles into results and unreachable hosts", async () => {
  const signer = createSigner(generateKeyPair(new Uint8Array(32).fill(7)).secretKey);
  const results: CheckResult[] = [
    { check: "linux.disk_encrypted", status: "pass", expected: true, actual: true, controls: ["hipaa:164.312(a)(2)(iv)"] },
    { check: "linux.ssh_root", status: "fail", expected: "no", actual: "yes", controls: [] },
  ];
  const base = { appliance_id: "app_aaaaaaaa", site_id: "site_bbbbbbbb", policy_version: "test", prev_hash: GENESIS_PREV_HASH };
  const t = (iso: string) => ({ started_at: iso, finished_at: iso });
  const lines = [
    (await signBundle(buildBundle({ ...base, seq: 1, kind: "check_cycle", host_id: "h1", outcome: "fail", results, timestamps: t("2026-11-30T10:00:00.000Z") }), signer)).line,
    (await signBundle(buildBundle({ ...base, seq: 2, kind: "check_cycle", host_id: "h1", outcome: "error", timestamps: t("2026-11-30T11:00:00.000Z") }), signer)).line,
    (await signBundle(buildBundle({ ...base, seq: 3, kind: "system", outcome: "success", timestamps: t("2026-11-30T11:30:00.000Z") }), signer)).line,
  ];
  const inputs = [...resultsFromBundleLines(lines)];
  assert.equal(inputs, [
    { appliance_id: "app_aaaaaaaa", site_id: "site_bbbbbbbb", host_id: "h1", finished_at: "2026-11-30T10:00:00.000Z", check: "linux.disk_encrypted", status: "pass" },
    { appliance_id: "app_aaaaaaaa", site_id: "site_bbbbbbbb", host_id: "h1", finished_at: "2026-11-30T10:00:00.000Z", check: "linux.ssh_root", status: "fail" },
    { appliance_id: "app_aaaaaaaa", site_id: "site_bbbbbbbb", host_id: "h1", finished_at: "2026-11-30T11:00:00.000Z", check: null, status: "error" },
  ]);
  // Host unreachable at 11:00 after pass+fail at 10:00 → both error: encryption 0, access_control 0 → 0.
  const s = scoreSite(inputs, { now: NOW, catalogue: cat });
  assert.is(s.overall, 0);
  assert.is(s.categories.encryption.error, 1);
});

// Keep the Category and Platform imports honest: the stub catalogue uses the real unions.
const _typecheck: { c: Category; p: Platform } = { c: CHECKS[0]!.category, p: CHECKS[0]!.platform };
void _typecheck;

test.run();
