#!/usr/bin/env bash
# Installs everything RagaSense's demo and tests need on a fresh Debian machine, and skips
# whatever is already there at the right version. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# System packages: lavapipe (Vulkan on the CPU) for wgpu, Chromium for browser tests,
# sox/espeak-ng to regenerate fixtures, python3-venv for the reference venvs, PostgreSQL
# for the registry's second backend (the tests start their own cluster on loopback).
need=()
for pkg in mesa-vulkan-drivers libvulkan1 chromium chromium-driver python3-venv sox espeak-ng postgresql; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Rust targets and the wasm-bindgen test runner, pinned to the version in Cargo.lock.
if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi
wb_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)"
if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]]; then
    log "cargo install wasm-bindgen-cli $wb_version (≈ 4 min, once)"
    cargo install -q wasm-bindgen-cli --version "$wb_version"
fi
if ! command -v wasm-pack >/dev/null; then
    log "cargo install wasm-pack (≈ 2 min, once)"
    cargo install -q wasm-pack --locked
fi

# Node packages for the browser tests (playwright-core drives Debian's chromium; it never
# downloads a browser) and the web app.
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
    log "npm ci (tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# The web app's build tool (esbuild). Its other dependency, the npm package `ragasense`, is
# a link to target/npm/ragasense, which scripts/build-npm.sh fills later.
if [[ ! -x web/node_modules/.bin/esbuild || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
    log "npm ci (web)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
# The dashboard's build tool (esbuild) and chart library (uPlot), vendored at build time.
if [[ ! -x dashboard/node_modules/.bin/esbuild || dashboard/package-lock.json -nt dashboard/node_modules/.package-lock.json ]]; then
    log "npm ci (dashboard)"
    (cd dashboard && npm ci --no-audit --no-fund --loglevel=error)
fi
log "setup done"
