import { test } from "uvu";
import * as assert from "uvu/assert";
import { INSERT_CHUNKS, insertRows } from "./rows-insert.ts";

test("insertRows() keeps every row, in order, in statements of the fixed chunk sizes only", () => {
  for (const n of [0, 1, 3, 4, 63, 64, 65, 250, 500]) {
    const rows = Array.from({ length: n }, (_, i) => [`a${i}`, i]);
    const stmts = insertRows("t", ["x", "y"], rows);
    assert.equal(stmts.flatMap((s) => s.args as unknown[]), rows.flat(), `n=${n}`);
    const sizes = stmts.map((s) => (s.sql.match(/\(\?, \?\)/g) ?? []).length);
    for (const k of sizes) assert.ok((INSERT_CHUNKS as readonly number[]).includes(k), `chunk of ${k}`);
    assert.equal(sizes, [...sizes].sort((a, b) => b - a), "largest chunks first");
    assert.ok(new Set(stmts.map((s) => s.sql)).size <= INSERT_CHUNKS.length);
  }
});

test("insertRows() refuses a row with the wrong number of values", () => {
  assert.throws(() => insertRows("t", ["x", "y"], [["a"]]), (e: unknown) => e instanceof TypeError && /1 values for 2 columns/.test(e.message));
});

test.run();
