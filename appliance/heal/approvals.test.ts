import { test } from "uvu";
import * as assert from "uvu/assert";
import { FakeClock, T0, tempStore } from "./_test-fakes.ts";
import { approvalCovers, KvApprovals, type ApprovalQuery, type ApprovalRecord } from "./approvals.ts";
import { HealError } from "./errors.ts";

const record: ApprovalRecord = {
  runbook: "linux.sshd_disable_password_auth",
  host_id: "host_srv1abcd",
  check: "linux.sshd_password_auth",
  approved_until: new Date(T0 + 3_600_000).toISOString(),
  order_id: "ord_approve0001",
};
const query: ApprovalQuery = { runbook: record.runbook, host_id: record.host_id, check: record.check, params: {}, now: T0 };

test("approvalCovers() accepts exactly the runbook, host and check it names, before it expires", () => {
  const table: [string, Partial<ApprovalQuery>, Partial<ApprovalRecord>, boolean][] = [
    ["exact match", {}, {}, true],
    ["another host", { host_id: "host_other0001" }, {}, false],
    ["another check", { check: "linux.sshd_root_login" }, {}, false],
    ["another runbook", { runbook: "linux.sshd_disable_root_login" }, {}, false],
    ["at the expiry instant", { now: T0 + 3_600_000 }, {}, false],
    ["after expiry", { now: T0 + 7_200_000 }, {}, false],
    ["named params that match", { params: { max_units: 2 } }, { params: { max_units: 2 } }, true],
    ["named params that differ", { params: { max_units: 5 } }, { params: { max_units: 2 } }, false],
  ];
  for (const [name, q, r, expected] of table) assert.is(approvalCovers({ ...record, ...r }, { ...query, ...q }), expected, name);
});

test("KvApprovals keeps granted approvals and finds only covering ones", async () => {
  const db = await tempStore();
  try {
    const approvals = new KvApprovals(db.store, new FakeClock());
    assert.is(await approvals.find(query), null);
    await approvals.grant(record);
    assert.equal(await approvals.find(query), record);
    assert.is(await approvals.find({ ...query, host_id: "host_other0001" }), null);
    assert.is(await approvals.find({ ...query, now: T0 + 3_600_000 }), null);
  } finally {
    await db.done();
  }
});

test("KvApprovals.grant() refuses a malformed record with HealError approval_invalid naming the fields", async () => {
  const db = await tempStore();
  try {
    const approvals = new KvApprovals(db.store, new FakeClock());
    let error: unknown;
    try {
      await approvals.grant({ ...record, approved_until: "tomorrow", host_id: "" });
    } catch (e) {
      error = e;
    }
    assert.instance(error, HealError);
    const e = error as HealError;
    assert.is(e.code, "approval_invalid");
    assert.ok(e.problems.some((p) => p.startsWith("approved_until:")));
    assert.ok(e.problems.some((p) => p.startsWith("host_id:")));
  } finally {
    await db.done();
  }
});

test.run();
