#!/usr/bin/env bash
# The RagaSense demo on a fresh machine: installs what it needs, renders a labelled raga
# corpus, shows the features RagaSense hears in a clip, trains the small raga model on the
# CPU tracked on the registry server, packages it (f32 + int8), registers it in Production,
# classifies held-out clips, builds the web app and prints its URL: the registry serves it,
# and it classifies files and the microphone in the browser with the Production model.
# Ctrl-C stops the server.
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

log "starting the registry server on http://127.0.0.1:$port"
"$bin" server --port "$port" --web-dir "$root/web/dist" \
    --backend-store-uri "sqlite:///$dir/mlruns.db" --artifacts-destination "$dir/artifacts" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
uri="http://127.0.0.1:$port"

log "training the small raga model on the CPU, tracked on the registry (features are cached)"
rm -rf "$dir/run"
"$bin" train --data "$dir/corpus" --profile small --device flex --seed 1 --out "$dir/run" \
    --tracking-uri "$uri" --promote production ${DEMO_EPOCHS:+--epochs "$DEMO_EPOCHS"} \
    ${DEMO_MIN_ACCURACY:+--min-accuracy "$DEMO_MIN_ACCURACY"}
log "classifying held-out clips with the int8 package"
"$bin" classify --model "$dir/run/package/int8" "$dir"/corpus/{yaman,kalyani,bhairav,mohanam}/*_test_0000.wav
"$bin" evaluate --model "$dir/run/package/int8" --data "$dir/corpus" | sed -n '1,3p'
log "the registry"
"$bin" models versions raga-detector --tracking-uri "$uri" || true
echo "run, params, metric history and artifacts: any MLflow client with MLFLOW_TRACKING_URI=$uri"

# The web app loads raga-detector@production: make sure there is one, even when the model
# trained here fell short of --min-accuracy and was registered without being promoted.
if ! curl -fs "$uri/v1/models/raga-detector/@production/manifest.json" >/dev/null; then
    latest="$("$bin" models versions raga-detector --tracking-uri "$uri" --json |
        python3 -c 'import json,sys; print(max(int(v["version"]) for v in json.load(sys.stdin)))')"
    log "no version in Production yet: promoting version $latest (below the accuracy bar: for the demo only)"
    "$bin" models promote raga-detector "$latest" --stage Production --tracking-uri "$uri"
    "$bin" models alias raga-detector production "$latest" --tracking-uri "$uri"
fi
echo "the model for browsers: curl $uri/v1/models/raga-detector/@production/manifest.json"

log "building the web app (web/dist; the npm package first if it is missing)"
bash scripts/build-web.sh
curl -fs "$uri/" | grep -q "<title>RagaSense" || { echo "demo: the registry does not serve the web app at $uri/" >&2; exit 1; }
echo "a static copy for any host: $bin export --model raga-detector@production --out $dir/site --tracking-uri $uri"
if [[ "${DEMO_EXIT:-}" == 1 ]]; then
    echo "the web app: $uri/"
    exit 0
fi
log "the web app: open $uri/ (drop a clip from $dir/corpus, or use the microphone) — Ctrl-C to stop"
wait "$server"
