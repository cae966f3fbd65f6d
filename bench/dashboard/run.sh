#!/usr/bin/env bash
# bench/dashboard: the registry's dashboard with 10,000 runs in the store — the experiments
# page's load time in headless Chromium (navigation → first table) and the runs/search answer
# time for one page (goal < 200 ms). Builds the server (release) and the dashboard first.
#   bench/dashboard/run.sh                  (ours only)
#   bench/dashboard/run.sh --peer mlflow    (also MLflow's server and UI with the same runs, checked
#                                            equal in both, and the ratios; ≈ 15 min at 10,000 runs)
#   other options: --runs N --concurrency N --reps N
#                  --mlflow-fill store|rest (MLflow's store filled in-process by its own tracking
#                                            store, the default, or over its REST API: slow)
# Env: RAGASENSE_SERVER_BIN  use this binary instead of building one
#      CARGO_TARGET_DIR      where cargo builds (default <repo>/target)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source "$root/bench/lib.sh"
server_binary
bash scripts/build-dashboard.sh
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ " $* " == *" --peer mlflow "* && -z "${MLFLOW_BIN:-}" ]]; then
    python="$(tests/python-venv.sh)"
    export MLFLOW_BIN="$(dirname "$python")/mlflow"
fi
node bench/dashboard/bench.mjs "$@"
