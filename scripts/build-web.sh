#!/usr/bin/env bash
# Builds the web app (web/) into web/dist: plain files any static host serves (the registry
# serves them at /). Builds the npm package first when it is missing, and installs web/'s
# node modules (esbuild) when they are missing or older than web/package-lock.json.
#   scripts/build-web.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ ! -f target/npm/ragasense/ragasense_bg.wasm ]]; then
    bash scripts/build-npm.sh
fi
if [[ ! -x web/node_modules/.bin/esbuild || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
node web/build.mjs
