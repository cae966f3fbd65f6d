#!/usr/bin/env bash
# Serving benchmarks (release build): each binary of this folder that exists is run in turn.
#
#   bench/serving/run.sh                        # all of them
#   bench/serving/run.sh serving_invocations    # one; its options follow it, e.g.
#   bench/serving/run.sh serving_invocations --clients 8 --requests 48 --input samples
#
# serving_invocations: POST /invocations clips/s and p50/p99 latency at 8 concurrent clients
# on rendered 30 s raw-audio clips, the inference worker batching concurrent clips vs one clip
# at a time, in the same run; prints the throughput ratio and writes
# target/bench/serving_invocations.json.
#
# Env: CARGO_TARGET_DIR  where cargo builds (default <repo>/target)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

known=(serving_invocations serving_telemetry)
only="${1:-}"
[[ -n "$only" ]] && shift

for bin in "${known[@]}"; do
    [[ -n "$only" && "$bin" != "$only" ]] && continue
    [[ -f "bench/src/bin/$bin.rs" ]] || continue
    echo "bench: cargo build --release -p raga-bench --bin $bin" >&2
    cargo build --release -p raga-bench --bin "$bin"
    echo "bench: $bin" >&2
    "${CARGO_TARGET_DIR:-$repo/target}/release/$bin" "$@"
done
