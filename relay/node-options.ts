/**
 * Node/V8 options the relay runs with in production. services.osiris-relay (nixos/relay.nix) puts them in the
 * unit's NODE_OPTIONS, and nixos/relay.test.ts holds the module to this list; scripts/bench/relay.ts starts its
 * relay child with them, so the benchmark measures the relay as it is deployed. Elsewhere, set them yourself
 * (docs/operations/configuring-the-relay.md); under Deno: `--v8-flags=` with the same options.
 *
 * `--max-semi-space-size=64` (MiB; V8's default on 64-bit is 16): a push's lines and parsed bundles live for
 * the ~0.1–0.2 s their signatures take on the verify workers. With 16 MiB semi-spaces, at ~10,000 bundles/s a
 * scavenge comes every ~70 ms, copies every push in flight and promotes most of it to the old generation
 * (~75 scavenges of 5–17 ms in a 4 s ingest run, seen with --trace-gc); with 64 MiB most of it dies young. The
 * space only grows that large while allocation is that heavy. Measured on 2026-11-29 (scripts/bench/README.md):
 * ingest at 0.632–0.654 of raw verify with it against 0.626–0.635 without (six and five invocations), for ~60 MB
 * more relay RSS while ingesting (~410 MB against ~350).
 */
export const RELAY_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=64"];

/** The young generation's largest size under RELAY_NODE_OPTIONS (two semi-spaces), in MiB. */
export const RELAY_YOUNG_GENERATION_MIB = 2 * 64;
