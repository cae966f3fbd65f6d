#!/usr/bin/env bash
# Creates (or reuses) the Python venv shared by tests/mlflow and bench/server,
# with the official mlflow client+server pinned, and moto's S3 server (the S3-compatible
# artifact store the suite runs against a second time). Idempotent: a rerun with the
# right versions already installed only checks a stamp file.
#
# Usage: tests/python-venv.sh        -> prints the venv's python path on stdout
# Env:   RAGASENSE_VENV (default: <repo>/.venv-mlflow)
set -euo pipefail

MLFLOW_VERSION="3.17.2"
PYTEST_VERSION="8.4.2"
MOTO_VERSION="5.2.5"
REQUIREMENTS="mlflow==${MLFLOW_VERSION} pytest==${PYTEST_VERSION} moto[server]==${MOTO_VERSION}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RAGASENSE_VENV:-$repo_root/.venv-mlflow}"
stamp="$venv/.ragasense-requirements"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$REQUIREMENTS" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "python-venv: installing python3-venv" >&2
    apt-get install -y python3-venv >&2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "python-venv: creating $venv" >&2
    python3 -m venv "$venv" >&2
fi

echo "python-venv: installing $REQUIREMENTS (first run: ~1 min)" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $REQUIREMENTS >&2
echo "$REQUIREMENTS" > "$stamp"
echo "$venv/bin/python"
