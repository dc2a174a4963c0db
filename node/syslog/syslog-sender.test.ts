import { test } from "uvu";
import * as assert from "uvu/assert";
import { SyslogSender, type SyslogConnect, type SyslogConnection } from "./syslog-sender.ts";

/** An in-memory receiver whose connections can be told to fail, hang or close. */
function fakeReceiver() {
  const received: string[] = [];
  const state = {
    refuse: 0, // next N connects fail
    hangConnect: false,
    failWrites: 0, // next N writes fail
    hangWrites: 0, // next N writes never finish
    connects: 0,
    aborted: 0,
  };
  const open: SyslogConnection[] = [];
  const connect: SyslogConnect = (signal) => {
    state.connects++;
    if (state.refuse > 0) {
      state.refuse--;
      return Promise.reject(new Error("ECONNREFUSED"));
    }
    if (state.hangConnect) {
      return new Promise((_, reject) => signal.addEventListener("abort", () => (state.aborted++, reject(signal.reason))));
    }
    let closed = false;
    const conn: SyslogConnection = {
      get closed() {
        return closed;
      },
      write(message) {
        if (state.failWrites > 0) {
          state.failWrites--;
          closed = true;
          return Promise.reject(new Error("EPIPE"));
        }
        if (state.hangWrites > 0) {
          state.hangWrites--;
          return new Promise(() => {});
        }
        received.push(new TextDecoder().decode(message));
        return Promise.resolve();
      },
      close() {
        closed = true;
      },
    };
    open.push(conn);
    return Promise.resolve(conn);
  };
  return { received, state, open, connect };
}

/** Sleep that records its delays and returns at once. */
function instantSleep() {
  const delays: number[] = [];
  return { delays, sleep: (ms: number) => (delays.push(ms), Promise.resolve()) };
}

test("SyslogSender delivers messages in order over one connection", async () => {
  const rx = fakeReceiver();
  const sender = new SyslogSender({ connect: rx.connect });
  for (let i = 0; i < 5; i++) sender.send(`m${i}`);
  assert.ok(await sender.flush(1_000));
  assert.equal(rx.received, ["m0", "m1", "m2", "m3", "m4"]);
  assert.is(rx.state.connects, 1);
  assert.equal(sender.stats(), { queued: 0, sent: 5, dropped: 0, failures: 0, connected: true });
  await sender.close();
  assert.is(sender.stats().connected, false);
});

test("SyslogSender drops the oldest message when its queue is full and counts it", async () => {
  const rx = fakeReceiver();
  rx.state.hangConnect = true;
  const warnings: string[] = [];
  const sender = new SyslogSender({ connect: rx.connect, queueLimit: 3, connectTimeoutMs: 10_000, log: (_, m) => warnings.push(m) });
  for (let i = 0; i < 5; i++) sender.send(`m${i}`);
  assert.equal(sender.stats().dropped, 2);
  assert.is(sender.stats().queued, 3);
  assert.ok(warnings.some((w) => w.includes("queue full")));
  rx.state.hangConnect = false;
  await sender.close();
});

test("SyslogSender reconnects with capped exponential backoff and full jitter", async () => {
  const rx = fakeReceiver();
  rx.state.refuse = 6;
  const { delays, sleep } = instantSleep();
  const sender = new SyslogSender({ connect: rx.connect, backoffBaseMs: 100, backoffCapMs: 1_000, random: () => 0.5, sleep });
  sender.send("after outage");
  assert.ok(await sender.flush(1_000));
  // uniform in [0, min(cap, base·2^(n-1))) with random = 0.5: half of 100, 200, 400, 800, 1000, 1000
  assert.equal(delays, [50, 100, 200, 400, 500, 500]);
  assert.equal(rx.received, ["after outage"]);
  assert.is(sender.stats().failures, 0);
  await sender.close();
});

test("SyslogSender re-sends a message whose write failed on a fresh connection, keeping order", async () => {
  const rx = fakeReceiver();
  const { sleep } = instantSleep();
  const sender = new SyslogSender({ connect: rx.connect, sleep });
  sender.send("a");
  assert.ok(await sender.flush(1_000));
  rx.state.failWrites = 1;
  sender.send("b");
  sender.send("c");
  assert.ok(await sender.flush(1_000));
  assert.equal(rx.received, ["a", "b", "c"]);
  assert.is(rx.state.connects, 2);
  await sender.close();
});

test("SyslogSender gives up on a stalled write after its timeout and reconnects", async () => {
  const rx = fakeReceiver();
  rx.state.hangWrites = 1;
  const { sleep } = instantSleep();
  const sender = new SyslogSender({ connect: rx.connect, writeTimeoutMs: 30, sleep });
  sender.send("x");
  assert.ok(await sender.flush(2_000));
  assert.equal(rx.received, ["x"]);
  assert.ok(rx.open[0]?.closed, "the stalled connection was closed");
  await sender.close();
});

test("SyslogSender aborts a connect attempt that exceeds its timeout", async () => {
  const rx = fakeReceiver();
  rx.state.hangConnect = true;
  const logs: string[] = [];
  const sender = new SyslogSender({ connect: rx.connect, connectTimeoutMs: 20, backoffBaseMs: 1, backoffCapMs: 1, log: (_, m, d) => logs.push(`${m} ${String(d?.error)}`) });
  sender.send("x");
  assert.not.ok(await sender.flush(200));
  assert.ok(rx.state.aborted >= 1);
  assert.ok(logs.some((l) => l.includes("connect timed out after 20 ms")), logs.join("\n"));
  await sender.close();
});

test("SyslogSender.close() stops retrying at once and refuses new messages", async () => {
  const rx = fakeReceiver();
  rx.state.refuse = Number.MAX_SAFE_INTEGER;
  const sender = new SyslogSender({ connect: rx.connect, backoffBaseMs: 60_000, backoffCapMs: 60_000, random: () => 0.99 });
  sender.send("never delivered");
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await sender.close();
  assert.ok(Date.now() - started < 1_000, "close() did not wait out the backoff");
  assert.is(sender.send("late"), false);
  assert.is(sender.stats().queued, 1);
});

test("SyslogSender rejects invalid bounds with a message naming them", () => {
  const { connect } = fakeReceiver();
  assert.throws(() => new SyslogSender({ connect, queueLimit: 0 }), /'queueLimit' must be a positive integer: current value is 0/);
  assert.throws(() => new SyslogSender({ connect, writeTimeoutMs: 1.5 }), /'writeTimeoutMs' must be a positive integer: current value is 1.5/);
});

test.run();
