#!/usr/bin/env bash
# Builds the registry's dashboard (dashboard/) into dashboard/dist, which the registry server
# serves at /ui/ (--ui-dir). Installs dashboard/'s node modules (esbuild, uPlot) when they
# are missing or older than dashboard/package-lock.json. Needs no Rust or wasm build.
#   scripts/build-dashboard.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ ! -x dashboard/node_modules/.bin/esbuild || dashboard/package-lock.json -nt dashboard/node_modules/.package-lock.json ]]; then
    (cd dashboard && npm ci --no-audit --no-fund --loglevel=error)
fi
node dashboard/build.mjs
