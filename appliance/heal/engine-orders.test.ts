/**
 * `run_runbook` orders through the engine: the same gates as L1 healing, the order standing in for an
 * approval. Stand-in host and evidence sink (_test-fakes.ts).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LIN, T0, WIN, type StepEffect } from "./_test-fakes.ts";
import { withHarness } from "./_test-harness.ts";
import type { RunbookOrder } from "./engine.ts";
import { HealError } from "./errors.ts";

const smbOn = () => ({ smb: { v1_enabled: true } });
const disable: StepEffect = (f) => ((f.smb = { v1_enabled: false }), { ok: true, detail: "SMB1 off" });
const order = (over: Partial<RunbookOrder> = {}): RunbookOrder => ({
  order_id: "ord_run0000001",
  target: WIN,
  runbook: "windows.disable_smb1",
  params: {},
  dry_run: false,
  ignore_window: false,
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<HealError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HealError) return e;
    throw e;
  }
  throw new Error("expected a HealError");
}

test("runOrder() goes through the gates: outside a window a disruptive runbook is deferred unless the order waives it", async () => {
  await withHarness({ facts: smbOn(), effects: { "powershell.script:smb.disable_v1": disable } }, async (h) => {
    const deferred = await h.engine.runOrder(order());
    assert.is(deferred.outcome, "deferred");
    assert.is(h.host.calls.length, 0);
    const ran = await h.engine.runOrder(order({ order_id: "ord_run0000002", ignore_window: true }));
    assert.equal([ran.outcome, ran.tier], ["success", "L3"]);
    const bundle = h.sink.remediations().at(-1)!;
    assert.is(bundle.order_id, "ord_run0000002");
    assert.equal(bundle.pre_state, { "smb.v1_enabled": true }, "pre-state from a check run before the runbook");
    assert.ok((bundle.post_state.gates as { gate: string; note: string }[]).some((g) => g.gate === "window" && /waives the window/.test(g.note)));
  });
});

test("runOrder() never bypasses observe mode, and a dry-run order reports dry_run", async () => {
  await withHarness({ facts: smbOn(), site: { healing_mode: "observe" } }, async (h) => {
    assert.is((await h.engine.runOrder(order({ ignore_window: true }))).outcome, "alert");
  });
  await withHarness({ facts: smbOn() }, async (h) => {
    assert.is((await h.engine.runOrder(order({ ignore_window: true, dry_run: true }))).outcome, "dry_run");
    assert.is(h.host.calls.length, 0);
  });
});

test("runOrder() counts as the approval for a needs_approval runbook", async () => {
  const facts = { sshd: { installed: true, password_authentication: "yes", kbd_interactive_authentication: "yes" } };
  const setOption: StepEffect = (f, p) => {
    const key = p.option === "PasswordAuthentication" ? "password_authentication" : "kbd_interactive_authentication";
    f.sshd = { ...f.sshd, [key]: p.value as string };
    return { ok: true, detail: "set" };
  };
  await withHarness({ facts, effects: { "sshd.set_option": setOption } }, async (h) => {
    const r = await h.engine.runOrder(order({ target: LIN, runbook: "linux.sshd_disable_password_auth" }));
    assert.is(r.outcome, "success");
  });
});

test("runOrder() refuses an unknown runbook, another platform's runbook and invalid parameters (HealError order_invalid)", async () => {
  await withHarness({ facts: smbOn() }, async (h) => {
    const table: [Partial<RunbookOrder>, RegExp][] = [
      [{ runbook: "windows.format_disk" }, /is not a catalogue runbook/],
      [{ runbook: "linux.restart_failed_units" }, /is for linux, host host_ws01abcd is windows/],
      [{ runbook: "windows.set_screen_lock", params: { timeout_s: "0; shutdown /s" } }, /'timeout_s' must be an integer/],
    ];
    for (const [over, message] of table) {
      const e = await refusal(h.engine.runOrder(order(over)));
      assert.is(e.code, "order_invalid");
      assert.match(e.message, message);
    }
    assert.is(h.host.calls.length, 0);
    assert.is(h.clock.now(), T0);
  });
});

test("runOrder() refuses with busy while a scan is healing the same host + check (never two fixes at once)", async () => {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const hang: StepEffect = () => (started(), "hang");
  const facts = { firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } };
  await withHarness({ facts, effects: { "powershell.script:firewall.enable_all_profiles": hang } }, async (h) => {
    const healing = h.engine.handleScan(h.host.scan(WIN, ["windows.firewall_profiles"]));
    await running;
    const e = await refusal(h.engine.runOrder(order({ runbook: "windows.enable_firewall_profiles" })));
    assert.is(e.code, "busy");
    assert.equal((await healing).healing.map((x) => x.outcome), ["failed"], "the hanging step timed out");
    assert.is(h.host.calls.length, 1);
  });
});

test.run();
