#!/usr/bin/env bash
# Benchmarks our registry server against MLflow's own server, side by side on
# this machine, and prints ratios (JSON in target/bench/server.json).
#
#   bench/server/run.sh                 # build ours (release), run both
#   bench/server/run.sh --only mlflow   # MLflow only (keeps ours from an earlier run)
#   bench/server/run.sh --only ours     # ours only (keeps MLflow's earlier numbers)
#   bench/server/run.sh --duration 5    # other options: bench/server/bench.py --help
#
# Env: RAGASENSE_SERVER_BIN  use this binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

only=""
prev=""
for a in "$@"; do
    [[ "$prev" == "--only" ]] && only="$a"
    [[ "$a" == --only=* ]] && only="${a#--only=}"
    prev="$a"
done

if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
python="$("$repo/tests/python-venv.sh")"

if [[ "$only" != "mlflow" && -z "${RAGASENSE_SERVER_BIN:-}" ]]; then
    echo "bench: cargo build --release -p registry-server" >&2
    (cd "$repo" && cargo build --release -p registry-server)
    export RAGASENSE_SERVER_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/registry-server"
fi

# bench.py kills the servers it started on exit, SIGINT and SIGTERM; the trap
# covers a bench.py that dies harder than that.
cleanup() { local rc=$?; [[ -n "${bench_pid:-}" ]] && kill "$bench_pid" 2>/dev/null; exit $rc; }
trap cleanup INT TERM
"$python" "$here/bench.py" "$@" &
bench_pid=$!
wait "$bench_pid"
