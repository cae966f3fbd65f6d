#!/usr/bin/env bash
# Render an unseen-renderer corpus and score a model package on it.
#   bench/unseen/run.sh [--model PKG_DIR] [--per-raga N] [--seconds S] [--seed K]
#                       [--out DIR] [--bin PATH] [--no-tradition]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODEL="$ROOT/tests/fixtures/model-small-int8"
PER_RAGA=5
SECONDS_=20
SEED=1
OUT=""
BIN="$ROOT/target/release/ragasense"
USE_TRADITION=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --per-raga) PER_RAGA="$2"; shift 2 ;;
    --seconds) SECONDS_="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --no-tradition) USE_TRADITION=0; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-$ROOT/target/unseen/corpus-$SEED}"

VENV="$HERE/.venv"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import numpy, scipy' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy scipy
fi
PY="$VENV/bin/python"

if [[ -f "$OUT/metadata.csv" ]] && [[ "$(($(wc -l < "$OUT/metadata.csv") - 1))" -eq $((PER_RAGA * 20)) ]]; then
  echo "using existing corpus $OUT"
else
  (cd "$HERE" && "$PY" render.py --out "$OUT" --per-raga "$PER_RAGA" --seconds "$SECONDS_" --seed "$SEED")
fi

[[ -x "$BIN" ]] || { echo "no release binary at $BIN (build it with cargo build --release -p raga-cli)" >&2; exit 1; }
PRED_DIR="$OUT/predictions"
mkdir -p "$PRED_DIR"
NAME="$(basename "$MODEL")"
preds=()
if [[ "$USE_TRADITION" == 1 ]]; then
  for trad in hindustani carnatic; do
    mapfile -t files < <(awk -F, -v t="$trad" -v d="$OUT" 'NR>1 && $3==t {print d "/" $1}' "$OUT/metadata.csv")
    [[ ${#files[@]} -gt 0 ]] || continue
    f="$PRED_DIR/$NAME-$trad.jsonl"
    "$BIN" classify "${files[@]}" --model "$MODEL" --device flex --tradition "$trad" --json > "$f"
    preds+=("$f")
  done
else
  mapfile -t files < <(awk -F, -v d="$OUT" 'NR>1 {print d "/" $1}' "$OUT/metadata.csv")
  f="$PRED_DIR/$NAME-any.jsonl"
  "$BIN" classify "${files[@]}" --model "$MODEL" --device flex --json > "$f"
  preds+=("$f")
fi
echo "model: $MODEL   corpus: $OUT   tradition given: $([[ $USE_TRADITION == 1 ]] && echo yes || echo no)"
"$PY" "$HERE/summary.py" --corpus "$OUT" "${preds[@]}"
