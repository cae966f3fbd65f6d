#!/usr/bin/env bash
# Scale-out: ingest throughput of 1 vs 2 registry-server replicas sharing one store, in the
# same run. Each side is bench/load's `server_load` (release builds) on a fresh store: writers
# log metrics, params and tags through the MLflow REST API, every request to the next replica
# in turn, and afterwards every acknowledged write is read back and compared — so the run
# also proves that two processes writing one store lose nothing and answer no 5xx.
# Prints both lines and the ratio; writes target/bench/scale-{1,2}.json.
#
#   bench/scale/run.sh                        # 64 writers, 30 s per side
#   bench/scale/run.sh --writers 16 --seconds 10
#
# The store is SQLite (the only backend so far): one file, so both replicas run on this host
# and SQLite's single writer lock serialises their writes. A PostgreSQL store is issue 10's
# next step; this script will run both.
# Env: RAGASENSE_SERVER_BIN  use this server binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

writers=64 seconds=30
while [[ $# -gt 0 ]]; do
    case "$1" in
        --writers) writers="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        *) echo "usage: bench/scale/run.sh [--writers N] [--seconds S]" >&2; exit 2 ;;
    esac
done

source "$root/bench/lib.sh"
server_binary
server_load="$(bench_binary server_load)"
mkdir -p "$target/bench"
echo "bench: machine load before: $(uptime)" >&2

rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["write_requests_per_s"])' "$1"; }
for n in 1 2; do
    "$server_load" --replicas "$n" --writers "$writers" --seconds "$seconds" \
        --out "$target/bench/scale-$n.json"
done
one="$(rate "$target/bench/scale-1.json")" two="$(rate "$target/bench/scale-2.json")"
python3 - "$one" "$two" <<'PY'
import sys
one, two = map(float, sys.argv[1:])
print(f"scale: 1 replica {one:.0f} writes/s, 2 replicas {two:.0f} writes/s: "
      f"2 replicas give {two / one:.2f}x the ingest of one (SQLite store: one writer lock)")
PY
