import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAX_PUSH_ENTRIES } from "../../protocol/sync.ts";
import { fitBatch, PUSH_ENTRIES_BUDGET_BYTES, toEntry, utf8Length, type OutboxRow } from "./batch.ts";
import { SyncError } from "./errors.ts";

const evidence = (seq: number, size: number): OutboxRow => ({ outbox_seq: seq, type: "evidence", body: `{"pad":"${"x".repeat(size)}"}` });
const size = (rows: ReturnType<typeof fitBatch>) => rows.reduce((n, e) => n + utf8Length(JSON.stringify(e)) + 1, 0);

test("fitBatch() takes at most MAX_PUSH_ENTRIES entries, in outbox order", () => {
  const rows = Array.from({ length: MAX_PUSH_ENTRIES + 20 }, (_, i) => evidence(i + 1, 10));
  const batch = fitBatch(rows);
  assert.is(batch.length, MAX_PUSH_ENTRIES);
  assert.equal(batch.map((e) => e.outbox_seq), rows.slice(0, MAX_PUSH_ENTRIES).map((r) => r.outbox_seq));
});

test("fitBatch() stops before the byte budget (big bundles make smaller batches) but always takes the first row", () => {
  const rows = Array.from({ length: 40 }, (_, i) => evidence(i + 1, 200 * 1024));
  const batch = fitBatch(rows);
  assert.ok(batch.length < 40 && batch.length > 10, String(batch.length));
  assert.ok(size(batch) <= PUSH_ENTRIES_BUDGET_BYTES);
  assert.is(fitBatch([evidence(1, 300)], 10).length, 1, "one row always goes, whatever the budget");
});

test("toEntry() sends evidence lines as strings and other rows as the objects their canonical JSON encodes", () => {
  assert.equal(toEntry({ outbox_seq: 3, type: "evidence", body: '{"a":1}' }), { outbox_seq: 3, type: "evidence", body: '{"a":1}' });
  assert.equal(toEntry({ outbox_seq: 4, type: "order_result", body: '{"detail":"ok","order_id":"ord_12345678","outcome":"success"}' }).body, { detail: "ok", order_id: "ord_12345678", outcome: "success" });
  assert.throws(() => toEntry({ outbox_seq: 5, type: "heartbeat", body: "{not json" }), (e: unknown) => e instanceof SyncError);
});

test("utf8Length() counts UTF-8 bytes, surrogate pairs included", () => {
  for (const s of ["", "abc", "é", "€uro", "😀", "a😀b\u{10ffff}", "\ud800", "\ud800x", "x\udc00"]) assert.is(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s));
});

test.run();
