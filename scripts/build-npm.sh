#!/usr/bin/env bash
# Builds the npm package `ragasense` (crates/raga-wasm) with wasm-pack, size-optimised, into
# target/npm/ragasense (or OUT_DIR), and reports the size of the wasm raw and gzipped.
#   scripts/build-npm.sh [--cpu-only] [OUT_DIR]
# --cpu-only builds `ragasense-cpu` (default OUT_DIR target/npm/ragasense-cpu): the same API
# without burn's WebGPU backend, for pages that classify on the CPU anyway.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name=ragasense
description="Raga detection in the browser: featurize audio and classify it on WebGPU or the CPU with a model from a RagaSense registry"
cargo_args=()
limit=2500000 # bytes of gzipped wasm: the issue's limit for the full package
if [ "${1:-}" = "--cpu-only" ]; then
    shift
    name=ragasense-cpu
    description="Raga detection in the browser, CPU-only build (no WebGPU backend, a smaller download): featurize audio and classify it with a model from a RagaSense registry"
    cargo_args=(-- --no-default-features)
    limit=1500000 # the full package's goal, which this build meets
fi
out="${1:-$root/target/npm/$name}"
cd "$root"

# Size over speed for the download; wasm SIMD for flex. Set here rather than in
# [profile.release] so native release builds keep their settings (and their artifacts:
# the wasm build lives under target/wasm32-unknown-unknown).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=true \
    CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
wasm-pack --log-level warn build crates/raga-wasm --release --target web \
    --out-dir "$out" --out-name ragasense --no-pack "${cargo_args[@]}" 2>&1 | grep -v "^\[INFO\]" || true
test -f "$out/ragasense_bg.wasm" || { echo "build-npm: wasm-pack produced no wasm" >&2; exit 1; }

# The npm package is named `ragasense` or `ragasense-cpu` (the crate is raga-wasm).
version="$(awk -F'"' '/^\[workspace.package\]/{w=1} w && /^version/{print $2; exit}' Cargo.toml)"
cp crates/raga-wasm/README.md "$out/README.md"
cat > "$out/package.json" <<JSON
{
  "name": "$name",
  "version": "$version",
  "description": "$description",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "ragasense.js",
  "module": "ragasense.js",
  "types": "ragasense.d.ts",
  "files": ["ragasense_bg.wasm", "ragasense_bg.wasm.d.ts", "ragasense.js", "ragasense.d.ts", "README.md"],
  "sideEffects": false,
  "keywords": ["raga", "music", "audio", "webgpu", "wasm", "hindustani", "carnatic"]
}
JSON
raw=$(stat -c %s "$out/ragasense_bg.wasm")
gz=$(gzip -9 -c "$out/ragasense_bg.wasm" | wc -c)
printf 'build-npm: %s — wasm %.2f MB raw, %.2f MB gzipped (limit %.1f MB)\n' \
    "$out" "$(echo "$raw / 1000000" | bc -l)" "$(echo "$gz / 1000000" | bc -l)" "$(echo "$limit / 1000000" | bc -l)"
printf '{"wasm_bytes": %d, "wasm_gzip_bytes": %d, "limit_gzip_bytes": %d}\n' "$raw" "$gz" "$limit" > "$out/size.json"
if [ "$gz" -gt "$limit" ]; then
    echo "build-npm: $name's wasm is $gz bytes gzipped, over its limit of $limit: find what grew (twiggy top, cargo tree -e features -p raga-wasm --target wasm32-unknown-unknown)" >&2
    exit 1
fi
