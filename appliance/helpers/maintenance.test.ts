/**
 * journal-vacuum and collect-garbage with a real appliance store and a fake NixOS profile. journalctl,
 * nix-env and nix-collect-garbage are a STAND-IN (_test-appliance.ts `fakeNixos`) that records argv: the
 * machine running the tests has no Nix profile or persistent journal to clean.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fakeNixos, helperDeps, storePath, testAppliance, type FakeNixos, type TestAppliance } from "./_test-appliance.ts";
import { generationsToDelete } from "./maintenance.ts";
import { runHelperAction } from "./run-helper.ts";

const S = [1, 2, 3, 4, 5, 6].map((n) => storePath(`gen${n}`));

async function setup(systems: string[], fn: (app: TestAppliance, nixos: FakeNixos) => Promise<void>): Promise<void> {
  const app = await testAppliance();
  try {
    await fn(app, await fakeNixos(app.dir, systems));
  } finally {
    await app.close();
  }
}

const cleanupRule = (params: Record<string, number>) => ({
  id: "builtin.appliance.disk_space",
  check: "appliance.disk_space",
  platform: "appliance",
  conditions: [],
  runbook: "appliance.disk_cleanup",
  params,
  priority: 10,
  source: "builtin" as const,
});

test("journal-vacuum uses the catalogue's default size when no signed rule set sets one", async () => {
  await setup([S[0]!], async (app, nixos) => {
    const { result } = await runHelperAction("journal-vacuum", helperDeps(app, nixos));
    assert.is(result.outcome, "success", result.detail);
    assert.equal(nixos.calls, [["journalctl", "--vacuum-size=1024M"]]);
    assert.is(result.params?.["journal_max_mb"], 1024);
    assert.match(String(result.params?.["params_source"]), /^catalogue .* defaults$/);
    assert.match(result.detail, /Vacuuming done/);
  });
});

test("journal-vacuum takes its size from the verified signed rule set", async () => {
  await setup([S[0]!], async (app, nixos) => {
    await app.rules([cleanupRule({ journal_max_mb: 200, keep_generations: 4 })], 5);
    const { result } = await runHelperAction("journal-vacuum", helperDeps(app, nixos));
    assert.equal(nixos.calls, [["journalctl", "--vacuum-size=200M"]]);
    assert.match(String(result.params?.["params_source"]), /signed rule set v5/);
  });
});

test("journal-vacuum reports journalctl's failure with its exit code", async () => {
  await setup([S[0]!], async (app, nixos) => {
    nixos.failing.add("journalctl");
    const { result } = await runHelperAction("journal-vacuum", helperDeps(app, nixos));
    assert.is(result.outcome, "failed");
    assert.is(result.exit_code, 1);
    assert.match(result.detail, /journalctl --vacuum-size=1024M exited 1: journalctl: simulated failure/);
  });
});

test("collect-garbage keeps the newest generations, the running one and the pinned one, then collects", async () => {
  await setup(S, async (app, nixos) => {
    await app.pin({ version: 1, pinned_system: S[1]! });
    const { result } = await runHelperAction("collect-garbage", helperDeps(app, nixos));
    assert.is(result.outcome, "success", result.detail);
    assert.equal(nixos.calls, [
      ["nix-env", "-p", nixos.systemProfile, "--delete-generations", "1", "3"],
      ["nix-collect-garbage"],
    ]);
    assert.equal(await nixos.generations(), [2, 4, 5, 6]);
    assert.is(result.params?.["keep_generations"], 3);
    assert.is(result.params?.["pin_known"], true);
    assert.match(result.detail, /deleted generations 1, 3/);
  });
});

test("collect-garbage with nothing to delete only collects garbage", async () => {
  await setup(S.slice(0, 2), async (app, nixos) => {
    const { result } = await runHelperAction("collect-garbage", helperDeps(app, nixos));
    assert.is(result.outcome, "success");
    assert.equal(nixos.calls, [["nix-collect-garbage"]]);
    assert.match(result.detail, /no generation to delete/);
  });
});

test("generationsToDelete never deletes the profile's current generation or one running or pinned", () => {
  const gens = S.map((system, i) => ({ number: i + 1, system }));
  // After a rollback the profile points at generation 2 while 3..6 are newer.
  assert.equal(generationsToDelete(gens, 2, 2, [S[1]!, null]), [1, 3, 4]);
  assert.equal(generationsToDelete(gens, 2, 6, [S[5]!, S[0]!]), [2, 3, 4]);
  assert.equal(generationsToDelete(gens, 50, 6, []), []);
});

test.run();
