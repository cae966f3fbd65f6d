#!/usr/bin/env bash
# Faults of the registry server (bench/src/bin/server_faults.rs), against a release build:
#   crashes    kill -9 the server while multi-MiB artifact uploads and metric batches are in
#              flight, restart it on the same store, several times: no partial artifact
#              visible, no acknowledged write lost, PRAGMA integrity_check = ok
#   full disk  the artifact store on a small tmpfs (mounted here: needs root): uploads that
#              do not fit get a clear JSON error (507), nothing partial is left, the server
#              keeps serving, what was stored stays intact
# Prints the figures, writes target/bench/faults.json, exits nonzero on any violation (or
# when the tmpfs cannot be mounted: it says why).
#
#   bench/faults/run.sh                        # both parts, 5 kill rounds
#   bench/faults/run.sh --part crash --rounds 10
#
# Env: RAGASENSE_SERVER_BIN  use this server binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

source "$root/bench/lib.sh"
server_binary
server_faults="$(bench_binary server_faults)"
echo "bench: machine load before: $(uptime)" >&2
"$server_faults" "$@"
