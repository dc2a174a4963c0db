import { test } from "uvu";
import * as assert from "uvu/assert";
import { counterRandom, FakeClock, tempStore } from "./_test-fakes.ts";
import { IncidentBook } from "./incidents.ts";
import { FLAP_MAX_REOPENS } from "./policy.ts";

const H = "host_ws01abcd";
const C = "windows.firewall_profiles";

async function withBook(fn: (book: IncidentBook, clock: FakeClock) => Promise<void>): Promise<void> {
  const db = await tempStore();
  try {
    const clock = new FakeClock();
    await fn(new IncidentBook({ store: db.store, clock, random: counterRandom() }), clock);
  } finally {
    await db.done();
  }
}

test("IncidentBook opens one incident per host + check and queues one wire update for it", async () => {
  await withBook(async (book, clock) => {
    const { incident, change } = await book.recordFailure(H, C, "high");
    assert.is(change, "opened");
    assert.match(incident.state.wire_id, /^inc_[0-9a-z]{26}$/);
    assert.equal({ status: incident.state.unsent?.status, occurrences: incident.state.unsent?.occurrences }, { status: "open", occurrences: 1 });
    await book.markSent(H, C, incident.state.unsent!);
    clock.advance(60_000);
    const again = await book.recordFailure(H, C, "high");
    assert.is(again.change, "repeated");
    assert.is(again.incident.id, incident.id);
    assert.is(again.incident.state.occurrences, 2);
    assert.is(again.incident.state.unsent, null, "a repeat is not a wire change");
    assert.equal(await book.unsent(10), []);
  });
});

test("IncidentBook resolves on pass, ignores a pass with nothing open, and reopens with a new wire id", async () => {
  await withBook(async (book, clock) => {
    assert.is(await book.recordPass(H, C), null);
    const first = (await book.recordFailure(H, C, "high")).incident;
    clock.advance(60_000);
    const resolved = await book.recordPass(H, C);
    assert.is(resolved?.status, "resolved");
    assert.is(resolved?.state.unsent?.status, "resolved");
    assert.is(resolved?.state.unsent?.incident_id, first.state.wire_id);
    assert.is(await book.recordPass(H, C), null);
    clock.advance(60_000);
    const { incident, change } = await book.recordFailure(H, C, "high");
    assert.is(change, "reopened");
    assert.is(incident.id, first.id, "same row");
    assert.is.not(incident.state.wire_id, first.state.wire_id, "new episode on the wire");
    assert.equal(incident.state.reopens, [clock.now()]);
    assert.is(incident.attempts, 0);
  });
});

test("IncidentBook queues a wire update only when the wire status changes", async () => {
  await withBook(async (book) => {
    let { incident } = await book.recordFailure(H, C, "medium");
    await book.markSent(H, C, incident.state.unsent!);
    incident = await book.update(incident, { status: "deferred", next_attempt_at: 123 });
    assert.is(incident.state.unsent, null, "deferred is still open to the relay");
    incident = await book.update(incident, { status: "escalated" });
    assert.is(incident.state.unsent?.status, "escalated");
    assert.equal((await book.unsent(10)).map((b) => b.status), ["escalated"]);
    const stored = await book.get(H, C);
    assert.equal({ status: stored?.status, next: stored?.next_attempt_at }, { status: "escalated", next: 123 });
  });
});

test("IncidentBook keeps the reopen history bounded", async () => {
  await withBook(async (book, clock) => {
    for (let i = 0; i < 20; i++) {
      await book.recordFailure(H, C, "high");
      clock.advance(1_000);
      await book.recordPass(H, C);
      clock.advance(1_000);
    }
    const incident = (await book.recordFailure(H, C, "high")).incident;
    assert.ok(incident.state.reopens.length <= FLAP_MAX_REOPENS + 2);
    assert.is(incident.state.reopens.at(-1), clock.now());
  });
});

test.run();
