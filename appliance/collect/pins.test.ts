import { test } from "uvu";
import * as assert from "uvu/assert";
import { CollectError } from "./errors.ts";
import { checkPin, memoryPinStore, pinKey, type PinStore, recordPin, sha256Fingerprint } from "./pins.ts";

test("sha256Fingerprint() uses OpenSSH's format: SHA256: and unpadded base64", () => {
  // SHA-256 of the empty string, base64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".
  assert.is(sha256Fingerprint(new Uint8Array()), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
});

test("pinKey() names kind, host (lower-cased, bracketed) and port", () => {
  assert.is(pinKey("ssh", "Host.Clinic.Local", 22), "ssh:[host.clinic.local]:22");
  assert.is(pinKey("winrm", "::1", 5986), "winrm:[::1]:5986");
});

test("checkPin() reports first use, accepts a match and refuses a different fingerprint naming both", async () => {
  const store = memoryPinStore({ "ssh:[a]:22": "SHA256:old" });
  assert.equal(await checkPin(store, "ssh:[b]:22", "SHA256:new", "ssh b"), { outcome: "first_use", fingerprint: "SHA256:new" });
  assert.equal(await checkPin(store, "ssh:[a]:22", "SHA256:old", "ssh a"), { outcome: "matched", fingerprint: "SHA256:old" });
  try {
    await checkPin(store, "ssh:[a]:22", "SHA256:new", "ssh a");
    assert.unreachable("should refuse");
  } catch (err) {
    assert.instance(err, CollectError);
    assert.is((err as CollectError).code, "host_key_mismatch");
    assert.match((err as CollectError).message, /identity of ssh a changed: pinned SHA256:old, presented SHA256:new/);
  }
});

test("a failing pin store is a clear protocol error, never a silent trust", async () => {
  const broken: PinStore = {
    get: () => Promise.reject(new Error("disk gone")),
    remember: () => Promise.reject(new Error("disk gone")),
  };
  for (const p of [checkPin(broken, "k", "f", "t"), recordPin(broken, "k", "f", "t")]) {
    try {
      await p;
      assert.unreachable("should fail");
    } catch (err) {
      assert.is((err as CollectError).code, "protocol");
    }
  }
});

test("recordPin() stores the first-use fingerprint", async () => {
  const store = memoryPinStore();
  await recordPin(store, "winrm:[h]:5986", "SHA256:x", "t");
  assert.equal(store.entries(), { "winrm:[h]:5986": "SHA256:x" });
});

test.run();
