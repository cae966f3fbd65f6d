#!/usr/bin/env bash
# The RagaSense demo on a fresh machine: installs what it needs, renders a labelled raga
# corpus, shows the features RagaSense hears in a clip, trains the small raga model on the
# CPU, packages it (f32 + int8), classifies held-out clips, and starts the registry server
# with the corpus logged as a tracked run. Ctrl-C stops the server.
#
#   DEMO_DIR=out/demo  PORT=5000  DEMO_EXIT=1 (don't keep the server running)
#   DEMO_PER_RAGA=12 DEMO_SECONDS=12 DEMO_EPOCHS= (corpus size and training length)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
dir="$(realpath -m "${DEMO_DIR:-out/demo}")"
port="${PORT:-5000}"

bash scripts/setup.sh
log "building ragasense (release)"
cargo build --release -q -p raga-cli
bin="$root/target/release/ragasense"

per_raga="${DEMO_PER_RAGA:-12}" seconds="${DEMO_SECONDS:-12}"
log "rendering a corpus: 20 ragas × $per_raga clips × $seconds s (train), × 2 (val), × 3 (test)"
"$bin" synth --out "$dir/corpus" --per-raga "$per_raga" --seconds "$seconds" --seed 1 --split train
"$bin" synth --out "$dir/corpus" --per-raga 2 --seconds 15 --seed 1 --split val
"$bin" synth --out "$dir/corpus" --per-raga 3 --seconds 15 --seed 1 --split test
head -4 "$dir/corpus/metadata.csv"

clip="$dir/corpus/yaman/yaman_test_0000.wav"
log "features of $clip"
"$bin" features "$clip"
truth="$(awk -F, '$1=="yaman/yaman_test_0000.wav"{print $4}' "$dir/corpus/metadata.csv")"
echo "ground-truth tonic: $truth Hz"
"$bin" features "$clip" --json > "$dir/yaman_features.json"
echo "full features as JSON: $dir/yaman_features.json ($(wc -c < "$dir/yaman_features.json") bytes)"

log "training the small raga model on the CPU (features are cached for the next run)"
"$bin" train --data "$dir/corpus" --profile small --device flex --seed 1 --out "$dir/run" ${DEMO_EPOCHS:+--epochs "$DEMO_EPOCHS"}
log "packaging the best checkpoint as f32 and int8"
"$bin" package "$dir/run" --quant f32 --quant int8 --out "$dir/package"
log "classifying held-out clips with the int8 package"
"$bin" classify --model "$dir/package/int8" "$dir"/corpus/{yaman,kalyani,bhairav,mohanam}/*_test_0000.wav
"$bin" evaluate --model "$dir/package/int8" --data "$dir/corpus" | head -3

log "starting the registry server on http://127.0.0.1:$port"
"$bin" server --port "$port" \
    --backend-store-uri "sqlite:///$dir/mlruns.db" --artifacts-destination "$dir/artifacts" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
api="http://127.0.0.1:$port/api/2.0/mlflow"
post() { curl -fsS -X POST -H 'Content-Type: application/json' "$api/$1" -d "$2"; }
exp="$(post experiments/create '{"name":"RagaSense_corpus"}' 2>/dev/null | sed -n 's/.*"experiment_id":"\([^"]*\)".*/\1/p')"
[[ -n "$exp" ]] || exp="$(curl -fsS "$api/experiments/get-by-name?experiment_name=RagaSense_corpus" | sed -n 's/.*"experiment_id":"\([^"]*\)".*/\1/p')"
run="$(post runs/create "{\"experiment_id\":\"$exp\",\"run_name\":\"corpus_$(date +%Y%m%d_%H%M%S)\"}" | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')"
clips="$(($(wc -l < "$dir/corpus/metadata.csv") - 1))"
post runs/log-batch "{\"run_id\":\"$run\",\"params\":[{\"key\":\"corpus.clips\",\"value\":\"$clips\"},{\"key\":\"corpus.seconds\",\"value\":\"15\"},{\"key\":\"audio.sr\",\"value\":\"22050\"}],\"metrics\":[{\"key\":\"corpus.clips\",\"value\":$clips,\"timestamp\":$(date +%s000),\"step\":0}]}" >/dev/null
post runs/update "{\"run_id\":\"$run\",\"status\":\"FINISHED\",\"end_time\":$(date +%s000)}" >/dev/null
echo "logged run $run in experiment $exp; see it with the MLflow client:"
echo "  curl -s '$api/runs/search' -H 'Content-Type: application/json' -d '{\"experiment_ids\":[\"$exp\"]}'"
echo "  or any MLflow client with MLFLOW_TRACKING_URI=http://127.0.0.1:$port"
echo "  curl '$api/runs/get?run_id=$run'"
if [[ "${DEMO_EXIT:-}" == 1 ]]; then exit 0; fi
log "registry running at http://127.0.0.1:$port — Ctrl-C to stop"
wait "$server"
