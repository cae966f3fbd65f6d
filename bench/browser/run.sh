#!/usr/bin/env bash
# bench/browser: in one headless Chromium run, our log-mel (npm package `ragasense`, wasm)
# vs Essentia.js's on a 30 s clip (goal ≥ 2× faster), and clip-to-raga on the CPU path
# (goal < 300 ms for 30 s), plus the package size. Essentia.js is AGPL: installed here for
# the benchmark only, never a dependency of the package. Also the size of the CPU-only
# package `ragasense-cpu` beside the full one's.
#   bench/browser/run.sh            (REPS=N to change the repetitions; default 7)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/build-npm.sh
bash scripts/build-npm.sh --cpu-only
cargo build -q -p raga-cli --bin ragasense
cargo build -q -p registry-server --bin registry-server
(cd bench/browser && npm ci --no-audit --no-fund --loglevel=error)
node bench/browser/bench.mjs
