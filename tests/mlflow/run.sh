#!/usr/bin/env bash
# Acceptance suite: drives the registry server with the official mlflow client.
#
#   tests/mlflow/run.sh                   # our server: $RAGASENSE_SERVER_BIN, or
#                                         # ${CARGO_TARGET_DIR:-target}/debug/registry-server
#   tests/mlflow/run.sh --against-mlflow  # MLflow's own `mlflow server` (reference run)
#   tests/mlflow/run.sh --server-url http://127.0.0.1:5000   # an already running server
#   tests/mlflow/run.sh --backend-store postgres --artifact-store s3 --replicas 2
#                                         # ours on PostgreSQL + S3 (both started on loopback),
#                                         # two replicas behind a round-robin balancer
#   tests/mlflow/run.sh -k registry -x    # any other arguments go to pytest
#
# The venv (.venv-mlflow at the repo root, mlflow + pytest pinned) is created on
# first use and reused afterwards; see tests/python-venv.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$("$here/../python-venv.sh")"
cd "$here"
exec "$python" -m pytest "$@"
