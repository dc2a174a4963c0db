/**
 * Node/V8 options the relay runs with in production. services.osiris-relay (nixos/relay.nix) puts them in the
 * unit's NODE_OPTIONS, and nixos/relay.test.ts holds the module to this list; scripts/bench/relay.ts starts its
 * relay child with them, so the benchmark measures the relay as it is deployed. Elsewhere, set them yourself
 * (docs/operations/configuring-the-relay.md); under Deno: `--v8-flags=` with the same options.
 *
 * `--max-semi-space-size=64` (MiB; V8's default on 64-bit is 16): a push's lines and parsed bundles live for
 * the ~0.1–0.2 s their signatures take on the verify workers. With 16 MiB semi-spaces, at ~10,000 bundles/s a
 * scavenge came every ~70 ms, copied every push in flight and promoted most of it to the old generation:
 * ~75 scavenges of 5–17 ms in a 4 s ingest run, ~10 µs of main-thread time per bundle. With 64 MiB most of it
 * dies young. The space only grows that large while allocation is that heavy; an idle relay keeps it small.
 * Measured on 2026-11-29 in scripts/bench/README.md.
 */
export const RELAY_NODE_OPTIONS: readonly string[] = ["--max-semi-space-size=64"];

/** The young generation's largest size under RELAY_NODE_OPTIONS (two semi-spaces), in MiB. */
export const RELAY_YOUNG_GENERATION_MIB = 2 * 64;
