#!/usr/bin/env bash
# Scale-out: ingest throughput of 1 vs 2 registry-server replicas sharing one store, in the
# same run, on PostgreSQL (a throwaway cluster on loopback, tests/postgres-loopback.sh) and on
# SQLite. Each side is bench/load's `server_load` (release builds) on a fresh store: writers
# log metrics, params and tags through the MLflow REST API, every request to the next replica
# in turn, and afterwards every acknowledged write is read back and compared — so the run
# also proves that two processes writing one store lose nothing and answer no 5xx.
# Prints a line per side and the ratios; writes target/bench/scale-{postgresql,sqlite}-{1,2}.json.
#
#   bench/scale/run.sh                        # 64 writers, 30 s per side, both backends
#   bench/scale/run.sh --writers 16 --seconds 10 --backends postgresql
#
# Both replicas run on this host; PostgreSQL here shares the host's cores with them.
# Env: RAGASENSE_SERVER_BIN  use this server binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

writers=64 seconds=30 backends="postgresql sqlite"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --writers) writers="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --backends) backends="${2//,/ }"; shift 2 ;;
        *) echo "usage: bench/scale/run.sh [--writers N] [--seconds S] [--backends postgresql,sqlite]" >&2; exit 2 ;;
    esac
done

source "$root/bench/lib.sh"
server_binary
server_load="$(bench_binary server_load)"
mkdir -p "$target/bench"
echo "bench: machine load before: $(uptime)" >&2

pg_dir=""
cleanup() { [[ -n "$pg_dir" ]] && bash tests/postgres-loopback.sh stop "$pg_dir" >/dev/null 2>&1; rm -rf "$pg_dir"; }
trap cleanup EXIT

for backend in $backends; do
    for n in 1 2; do
        store=()
        if [[ "$backend" == postgresql ]]; then
            if [[ -z "$pg_dir" ]]; then
                pg_dir="$(mktemp -d /tmp/ragasense-scale-pg.XXXXXX)"
                pg_uri="$(bash tests/postgres-loopback.sh start "$pg_dir")"
            fi
            psql "$pg_uri" -qc "CREATE DATABASE scale_$n" >/dev/null
            store=(--backend-store-uri "${pg_uri%/*}/scale_$n")
        fi
        "$server_load" --replicas "$n" "${store[@]}" --writers "$writers" --seconds "$seconds" \
            --out "$target/bench/scale-$backend-$n.json"
    done
done

python3 - "$target/bench" $backends <<'PY'
import json, sys
folder, backends = sys.argv[1], sys.argv[2:]
for b in backends:
    one, two = (json.load(open(f"{folder}/scale-{b}-{n}.json"))["write_requests_per_s"] for n in (1, 2))
    print(f"scale ({b}): 1 replica {one:.0f} writes/s, 2 replicas {two:.0f} writes/s: "
          f"2 replicas give {two / one:.2f}x the ingest of one")
PY
