#!/usr/bin/env bash
# Serving benchmarks of the registry server, each against a release build on a fresh store:
#   serving_telemetry    browser telemetry ingest (events/s) and proof that none is lost
#   serving_invocations  model serving, when that binary exists
# Every argument goes to each benchmark (e.g. --clients 16 --seconds 15).
# Writes target/bench/serving_*.json.
#
# Env: RAGASENSE_SERVER_BIN  use this server binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
#      BENCHES               which benchmarks (default: every one of the list above that exists)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

source "$root/bench/lib.sh"
server_binary

benches="${BENCHES:-serving_telemetry serving_invocations}"
ran=0
for name in $benches; do
    if [[ ! -f "bench/src/bin/$name.rs" ]]; then
        echo "bench: no $name yet, skipped" >&2
        continue
    fi
    echo "bench: $name" >&2
    cargo run --release -q -p raga-bench --bin "$name" -- "$@"
    ran=$((ran + 1))
done
[[ $ran -gt 0 ]] || { echo "bench: nothing to run" >&2; exit 1; }
