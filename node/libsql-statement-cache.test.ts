import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { statementCacheInstalled } from "./libsql-statement-cache.ts";

/** Resident native heap ([heap] mapping), where libSQL's statements live. */
function nativeHeapKb(): number {
  let cur = "", kb = 0;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-/.test(line)) cur = line.split(/\s+/)[5] ?? "";
    else if (line.startsWith("Rss:") && cur === "[heap]") kb += Number(line.split(/\s+/)[1]);
  }
  return kb;
}

test("repeated statements through @libsql/client do not grow native memory once the statement cache is installed", async () => {
  assert.ok(statementCacheInstalled());
  const dir = await mkdtemp(join(tmpdir(), "osiris-libsql-"));
  const client = createClient({ url: `file:${join(dir, "t.db")}` });
  try {
    await client.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await client.execute({ sql: "INSERT INTO kv VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", args: [`k${i % 50}`, "v".repeat(100)] });
      }
      const tx = await client.transaction("write");
      await tx.execute({ sql: "UPDATE kv SET v = ? WHERE k = ?", args: ["w", "k1"] });
      await tx.commit();
    };
    await round(2_000); // warm-up: allocator and caches settle
    const before = nativeHeapKb();
    await round(10_000);
    const grownKb = nativeHeapKb() - before;
    // Without the cache this loop (no event-loop turn) holds ~40 MB of statements; allow allocator noise.
    assert.ok(grownKb < 8_000, `native heap grew by ${grownKb} KB over 10,000 executes`);
    assert.is(Number((await client.execute("SELECT v FROM kv WHERE k = 'k1'")).rows[0]?.[0] === "w"), 1);
  } finally {
    client.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("row cursors are freed on event-loop turns and held while the loop never turns", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-libsql-"));
  const client = createClient({ url: `file:${join(dir, "t.db")}` });
  try {
    await client.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)");
    await client.execute("INSERT INTO kv VALUES ('a', 'x')");
    const reads = async (n: number, turnEvery: number) => {
      for (let i = 1; i <= n; i++) {
        assert.is((await client.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: ["a"] })).rows.length, 1);
        if (i % turnEvery === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await reads(2_000, 100); // warm-up
    let before = nativeHeapKb();
    await reads(20_000, 100);
    const withTurnsKb = nativeHeapKb() - before;
    assert.ok(withTurnsKb < 4_000, `native heap grew by ${withTurnsKb} KB over 20,000 reads with a turn every 100`);
    // Why appliance/store yields every OPERATIONS_PER_TURN operations; if this fails, the driver now frees
    // cursors eagerly and that yield can go.
    before = nativeHeapKb();
    await reads(20_000, Infinity);
    const withoutTurnsKb = nativeHeapKb() - before;
    assert.ok(withoutTurnsKb > 8_000, `native heap grew by only ${withoutTurnsKb} KB over 20,000 reads without a turn`);
  } finally {
    client.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
