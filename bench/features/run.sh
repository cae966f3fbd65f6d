#!/usr/bin/env bash
# Our log-mel and F0 against librosa on rendered 30 s clips, measured in one run.
# Usage: bench/features/run.sh [--clips N] [--reps R] [--pyin-clips M] [--pyin-reps P] [--base-seed B]
# Prints the table and writes target/bench/features.json (work files in target/bench/features/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

clips=5 reps=5 pyin_clips="" pyin_reps=1 base_seed=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --clips) clips="$2" ;;
        --reps) reps="$2" ;;
        --pyin-clips) pyin_clips="$2" ;;
        --pyin-reps) pyin_reps="$2" ;;
        --base-seed) base_seed="$2" ;;
        *) echo "unknown flag $1" >&2; exit 2 ;;
    esac
    shift 2
done
dir="target/bench/features"
mkdir -p "$dir"
rm -f "$dir"/clip*.wav "$dir"/clip*.f0.json "$dir"/*.jsonl

echo "== librosa venv"
# shellcheck source=../../tests/reference/venv.sh
source tests/reference/venv.sh
set -euo pipefail
echo "== build"
cargo build --release -q -p raga-bench --bin features
bin="${CARGO_TARGET_DIR:-target}/release/features"

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# Left as the machine sets them (see the env notes); a current numpy is slower under them.
openblas="$(env | grep '^OPENBLAS' | tr '\n' ' ' || true)"
echo "== OPENBLAS env, as the machine sets it: ${openblas:-none set}"

echo "== ours: render $clips clips, time log-mel and F0 ($reps reps, 1 thread)"
"$bin" ours --clips "$clips" --reps "$reps" --base-seed "$base_seed" --dir "$dir"

echo "== librosa: same WAVs (log-mel $reps reps, pyin ${pyin_reps} rep(s) on ${pyin_clips:-all} clips)"
"$REF_PY" bench/features/librosa_side.py --dir "$dir" --reps "$reps" --pyin-reps "$pyin_reps" \
    ${pyin_clips:+--pyin-clips "$pyin_clips"}

"$bin" report --dir "$dir" --out target/bench/features.json
