#!/usr/bin/env bash
# Write load on the registry server: 64 concurrent writers log metrics, params and tags
# through the MLflow REST API for 60 s against a release build on a fresh SQLite store, then
# every run's histories are read back and compared with what was acknowledged
# (bench/src/bin/server_load.rs). Prints writes/s, acknowledged, stored, lost, 5xx and
# latencies; exits nonzero on any loss or 5xx. Writes target/bench/load.json.
#
#   bench/load/run.sh                           # 64 writers, 60 s
#   bench/load/run.sh --writers 16 --seconds 10 # any option of server_load
#   bench/load/run.sh --readers 2               # plus two dashboard-like readers (search, history)
#
# Env: RAGASENSE_SERVER_BIN  use this server binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

source "$root/bench/lib.sh"
server_binary
server_load="$(bench_binary server_load)"
echo "bench: machine load before: $(uptime)" >&2
"$server_load" "$@"
