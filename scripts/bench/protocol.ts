/**
 * Protocol micro-benchmarks: canonical JSON, Ed25519 (portable and native), bundle verification, Merkle log.
 *   node --import tsx scripts/bench/protocol.ts
 * Each figure is operations per second over a fixed duration after a warm-up. The last line is one JSON
 * object with every figure (see README "Benchmarks").
 */
import { canonicalize } from "../../protocol/canonical.ts";
import { createSigner, createVerifier, generateKeyPair, nativeVerifyBackend, signRaw, verifyRaw } from "../../protocol/crypto.ts";
import { utf8 } from "../../protocol/encoding.ts";
import { buildBundle, GENESIS_PREV_HASH, openBundleLine, signBundle, verifyBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { buildKitFiles, verifyKit } from "../../protocol/kit.ts";
import { generateKitContents } from "../../fixtures/kit-generator.ts";
import { leafHash, MerkleAccumulator, MerkleTree, verifyInclusion } from "../../protocol/merkle.ts";

/** How long each measurement runs; long enough to smooth JIT and GC noise on a 2-core machine. */
const MEASURE_MS = Number(process.env.BENCH_MS ?? 1500);

async function rate(name: string, fn: (i: number) => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(i); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < MEASURE_MS) {
    for (let k = 0; k < 50; k++) await fn(n++);
  }
  const perS = n / ((performance.now() - start) / 1000);
  console.log(`${name.padEnd(34)} ${Math.round(perS).toLocaleString("en-US").padStart(12)} /s`);
  return Math.round(perS);
}

const kp = generateKeyPair(new Uint8Array(32).fill(3));
const signer = createSigner(kp.secretKey);
const unsigned = buildBundle({
  appliance_id: "app_bench00001",
  site_id: "site_bench0001",
  seq: 1,
  prev_hash: GENESIS_PREV_HASH,
  kind: "check_cycle",
  host_id: "host-1",
  outcome: "pass",
  timestamps: { started_at: isoTime(Date.UTC(2026, 10, 1)), finished_at: isoTime(Date.UTC(2026, 10, 1, 0, 0, 2)) },
  policy_version: "2026.11.1",
  results: [
    { check: "linux.firewall_active", status: "pass", expected: true, actual: true, controls: ["hipaa:164.312(e)(1)"] },
    { check: "linux.sshd_root_login", status: "pass", expected: "no", actual: "no", controls: ["hipaa:164.312(a)(1)", "hipaa:164.312(d)"] },
    { check: "linux.disk_space", status: "pass", expected: { max_used_pct: 90 }, actual: { used_pct: 41 }, controls: ["hipaa:164.308(a)(7)(ii)(A)"] },
    { check: "linux.time_sync", status: "pass", expected: { max_offset_ms: 5000 }, actual: { offset_ms: 12 }, controls: ["hipaa:164.312(b)"] },
  ],
});
const { line, bundle } = await signBundle(unsigned, signer);
const lineBytes = utf8(line).length;
console.log(`typical bundle: ${lineBytes} bytes`);
const msg = utf8(line);
const sig = await signRaw(msg, kp.secretKey, "portable");

const canonicalize_per_s = await rate("canonicalize (1 KB bundle)", () => canonicalize(bundle));
const sign_per_s = await rate("sign (portable, @noble)", () => signRaw(msg, kp.secretKey, "portable"));
const native_sign_per_s = await rate("sign (native, WebCrypto)", () => signer.signRaw(msg));
const verify_per_s = await rate("verify (portable, @noble)", () => verifyRaw(sig, msg, kp.publicKey, "portable"));
const nativeVerifier = createVerifier(kp.publicKey, "native");
const native_verify_per_s = await rate(`verify (native, ${await nativeVerifyBackend()})`, () => nativeVerifier.verifyRaw(msg, sig));
/** Batches of concurrent verifications: native verification runs on libuv's thread pool, so both cores work. */
const BATCH = 64;
const native_verify_batch_per_s = BATCH * (await rate(`verify (native, batches of ${BATCH}) ÷${BATCH}`, () => Promise.all(Array.from({ length: BATCH }, () => nativeVerifier.verifyRaw(msg, sig)))));
console.log(`  = ${native_verify_batch_per_s.toLocaleString("en-US")} verifications/s`);
const bundleVerifier = createVerifier(kp.publicKey);
const bundle_verify_per_s = await rate("bundle verify (parse+canon+sig)", () => verifyBundle(line, bundleVerifier));
await rate("bundle open (parse+canon, no sig)", () => openBundleLine(line));
const acc = new MerkleAccumulator();
const leaf = leafHash(msg);
const merkle_append_per_s = await rate("merkle append (accumulator)", () => acc.append(leaf));
const tree = new MerkleTree();
for (let i = 0; i < 1 << 16; i++) tree.append(leafHash(utf8(String(i))));
const root = tree.root();
const merkle_proof_per_s = await rate("merkle inclusion proof+verify (65k)", (i) => {
  const idx = (i * 7919) % tree.size;
  return verifyInclusion(tree.leaf(idx), idx, tree.size, tree.inclusionProof(idx, tree.size), root);
});

// Auditor-kit verification end to end (chain, signatures in parallel, Merkle roots, checkpoints).
const kitFiles = buildKitFiles(await generateKitContents({ appliances: 2, bundlesPerAppliance: 5_000, checkpointEvery: 500 }));
const kt0 = performance.now();
const kitReport = await verifyKit(kitFiles);
const kit_verify_per_s = Math.round(10_000 / ((performance.now() - kt0) / 1000));
if (!kitReport.ok) throw new Error(`bench kit failed verification: ${kitReport.failure.reason}`);
// Raw parallel verification again right after the kit, averaged with the first figure, so a change in the
// machine's load during the run skews the ratio less (the same way scripts/bench/packet.ts measures it).
const rawAfter = BATCH * (await rate(`verify (native, batches of ${BATCH}) ÷${BATCH}`, () => Promise.all(Array.from({ length: BATCH }, () => nativeVerifier.verifyRaw(msg, sig)))));
const kit_verify_ratio = Number((kit_verify_per_s / ((native_verify_batch_per_s + rawAfter) / 2)).toFixed(3));
console.log(`${"kit verify (10,000 bundles)".padEnd(34)} ${kit_verify_per_s.toLocaleString("en-US").padStart(12)} /s  (${Math.round(100 * kit_verify_ratio)} % of parallel raw verify, before and after)`);

console.log(
  JSON.stringify({
    canonicalize_per_s,
    sign_per_s,
    native_sign_per_s,
    verify_per_s,
    native_verify_per_s,
    native_verify_batch_per_s,
    bundle_verify_per_s,
    merkle_append_per_s,
    merkle_proof_per_s,
    kit_verify_per_s,
    kit_verify_ratio,
    bundle_bytes: lineBytes,
  }),
);
