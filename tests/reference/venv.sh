#!/usr/bin/env bash
# Creates (or reuses) the Python venv used for reference checks against librosa.
# Usage: source tests/reference/venv.sh   → sets $REF_PY to the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv-ref"
if ! "$venv/bin/python" -c "import librosa, soundfile" 2>/dev/null; then
    python3 -m venv "$venv" 2>/dev/null || { apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/reference/requirements.txt"
fi
REF_PY="$venv/bin/python"
export REF_PY
