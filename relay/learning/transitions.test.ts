import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, count, testRelay, type TestRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { candidateId, groupKey } from "./mining.ts";
import { ledger, proposeCandidate, transition, TRANSITIONS, type Actor, type CandidateState } from "./transitions.ts";

async function withCandidate(fn: (relay: TestRelay, id: string) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    const key = groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", {});
    const id = candidateId(relay.mspId, key);
    const fresh = await relay.db.transaction((tx) =>
      proposeCandidate(tx, relay.clock, { id, msp_id: relay.mspId, group_key: key, check_id: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: "{}", stats: { occurrences: 5 } }, "5 runs"),
    );
    assert.ok(fresh);
    await fn(relay, id);
  } finally {
    await relay.close();
  }
}

async function refused(p: Promise<unknown>, code = "transition_refused"): Promise<RelayError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RelayError && e.code === code) return e;
    throw e;
  }
  assert.unreachable(`expected RelayError ${code}`);
  throw new Error("unreachable");
}

const system: Actor = { kind: "system", name: "test" };

test("transition() walks proposed → shadow → approved → active → graduated and ledgers who, when, why and proof", async () => {
  await withCandidate(async (relay, id) => {
    const user = await asUser(relay, "msp_tech");
    const move = (to: CandidateState, actor: Actor, reason: string) => relay.db.transaction((tx) => transition(tx, relay.clock, { candidate_id: id, to, actor, reason, proof: { step: to } }));
    await move("shadow", system, "replayed");
    relay.clock.t += 60_000;
    const approved = await move("approved", { kind: "user", principal: user.principal }, "looks right");
    assert.equal([approved.from, approved.to], ["shadow", "approved"]);
    await move("active", system, "in rule set 2");
    await move("graduated", system, "proven");
    const rows = await ledger(relay.db, id);
    assert.equal(rows.map((r) => [r.from, r.to, r.actor_kind]), [[null, "proposed", "system"], ["proposed", "shadow", "system"], ["shadow", "approved", "user"], ["approved", "active", "system"], ["active", "graduated", "system"]]);
    assert.is(rows[2]!.actor_id, user.id);
    assert.match(rows[2]!.actor_name, user.email);
    assert.is(rows[2]!.reason, "looks right");
    assert.equal(rows[2]!.proof, { step: "approved" });
    assert.is(rows[2]!.at, "2026-11-27T12:01:00.000Z");
    const state = await relay.db.execute({ sql: "SELECT state FROM learning_candidates WHERE id = ?", args: [id] });
    assert.is(state.rows[0]?.["state"], "graduated");
  });
});

test("transition() refuses a move the state does not allow, names what is allowed, and changes nothing", async () => {
  await withCandidate(async (relay, id) => {
    const e = await refused(relay.db.transaction((tx) => transition(tx, relay.clock, { candidate_id: id, to: "active", actor: system, reason: "skip ahead", proof: {} })));
    assert.match(e.message, "from proposed to active");
    assert.match(e.message, "shadow (system), retired (user, system)");
    assert.equal(e.details?.["from"], "proposed");
    assert.is(e.status, 409);
    assert.is(await count(relay.db, "learning_transitions", "candidate_id = ?", [id]), 1);
  });
});

test("transition() refuses the wrong actor: the loop cannot approve, a person cannot activate, policy cannot retire", async () => {
  await withCandidate(async (relay, id) => {
    const user = await asUser(relay, "msp_admin");
    const tx = <T>(fn: Parameters<typeof relay.db.transaction<T>>[0]) => relay.db.transaction(fn);
    await tx((t) => transition(t, relay.clock, { candidate_id: id, to: "shadow", actor: system, reason: "replayed", proof: {} }));
    const e = await refused(tx((t) => transition(t, relay.clock, { candidate_id: id, to: "approved", actor: system, reason: "sure", proof: {} })));
    assert.match(e.message, "as system: only user or policy may");
    await tx((t) => transition(t, relay.clock, { candidate_id: id, to: "approved", actor: { kind: "policy", name: "auto_promote" }, reason: "policy", proof: {} }));
    await refused(tx((t) => transition(t, relay.clock, { candidate_id: id, to: "active", actor: { kind: "user", principal: user.principal }, reason: "now", proof: {} })));
    await refused(tx((t) => transition(t, relay.clock, { candidate_id: id, to: "retired", actor: { kind: "policy", name: "x" }, reason: "x", proof: {} })));
    await refused(tx((t) => transition(t, relay.clock, { candidate_id: id, to: "retired", actor: { kind: "user", principal: user.principal }, reason: "   ", proof: {} })), "schema");
    await tx((t) => transition(t, relay.clock, { candidate_id: id, to: "retired", actor: { kind: "user", principal: user.principal }, reason: "not wanted", proof: {} }));
    const final = await refused(tx((t) => transition(t, relay.clock, { candidate_id: id, to: "shadow", actor: system, reason: "again", proof: {} })));
    assert.match(final.message, "nothing (final state)");
  });
});

test("the database keeps state and ledger in step: a bare state UPDATE, ledger edits and deletes are refused", async () => {
  await withCandidate(async (relay, id) => {
    const rejects = async (sql: string, args: string[], pattern: RegExp) => {
      try {
        await relay.db.execute({ sql, args });
      } catch (e) {
        assert.match((e as Error).message, pattern);
        return;
      }
      assert.unreachable(sql);
    };
    await rejects("UPDATE learning_candidates SET state = 'active' WHERE id = ?", [id], /only through a ledgered transition/);
    await rejects("UPDATE learning_candidates SET runbook = 'x' WHERE id = ?", [id], /identity columns cannot change/);
    await rejects("DELETE FROM learning_candidates WHERE id = ?", [id], /DELETE refused/);
    await rejects("UPDATE learning_transitions SET reason = 'edited' WHERE candidate_id = ?", [id], /append-only: UPDATE refused/);
    await rejects("DELETE FROM learning_transitions WHERE candidate_id = ?", [id], /append-only: DELETE refused/);
  });
});

test("proposeCandidate() proposes a group once per MSP, whatever state it reached", async () => {
  await withCandidate(async (relay, id) => {
    const again = await relay.db.transaction((tx) =>
      proposeCandidate(tx, relay.clock, { id, msp_id: relay.mspId, group_key: groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", {}), check_id: "windows.defender_realtime", platform: "windows", runbook: "windows.enable_defender_realtime", params: "{}", stats: {} }, "again"),
    );
    assert.is(again, false);
    assert.is(await count(relay.db, "learning_transitions"), 1);
  });
});

test("TRANSITIONS: retired is final; every state but retired can end in retired by a person, and the loop retires only what a fleet rule can supersede", () => {
  assert.equal(TRANSITIONS.retired, {});
  for (const [from, moves] of Object.entries(TRANSITIONS)) if (from !== "retired") assert.ok(moves.retired?.includes("user"), from);
  const bySystem = Object.entries(TRANSITIONS).filter(([, moves]) => moves.retired?.includes("system")).map(([from]) => from);
  assert.equal(bySystem, ["proposed", "shadow", "approved", "active", "graduated"], "not auto_disabled: nothing supersedes a rule already out of the sets");
  assert.not.ok(Object.values(TRANSITIONS).some((moves) => moves.retired?.includes("policy")), "policy approves, never retires");
});

test.run();
