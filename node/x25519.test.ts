/** X25519 through node:crypto, checked against the RFC 7748 §6.1 test vectors. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex, toHex } from "../protocol/encoding.ts";
import { createX25519Key, x25519PublicKey } from "./x25519.ts";

const ALICE_SECRET = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const BOB_SECRET = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const BOB_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

test("public keys and the shared secret match RFC 7748 §6.1", () => {
  assert.is(toHex(x25519PublicKey(fromHex(ALICE_SECRET))), ALICE_PUBLIC);
  assert.is(toHex(x25519PublicKey(fromHex(BOB_SECRET))), BOB_PUBLIC);
  assert.is(toHex(createX25519Key(fromHex(ALICE_SECRET)).sharedSecret(fromHex(BOB_PUBLIC))), SHARED);
  assert.is(toHex(createX25519Key(fromHex(BOB_SECRET)).sharedSecret(fromHex(ALICE_PUBLIC))), SHARED);
});

test("keys of the wrong size are refused with their size in the message", () => {
  assert.throws(() => createX25519Key(new Uint8Array(31)), (e: unknown) => e instanceof TypeError && /32 bytes: current value is 31 bytes/.test(e.message));
  assert.throws(() => createX25519Key(fromHex(ALICE_SECRET)).sharedSecret(new Uint8Array(33)), (e: unknown) => e instanceof TypeError && /33 bytes/.test(e.message));
});

test.run();
