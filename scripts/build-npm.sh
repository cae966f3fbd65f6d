#!/usr/bin/env bash
# Builds the npm package `ragasense` (crates/raga-wasm) with wasm-pack, size-optimised, into
# target/npm/ragasense (or $1), and reports the size of the wasm raw and gzipped.
#   scripts/build-npm.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/npm/ragasense}"
cd "$root"

# Size over speed for the download; wasm SIMD for flex. Set here rather than in
# [profile.release] so native release builds keep their settings (and their artifacts:
# the wasm build lives under target/wasm32-unknown-unknown).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=true \
    CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
wasm-pack --log-level warn build crates/raga-wasm --release --target web \
    --out-dir "$out" --out-name ragasense --no-pack 2>&1 | grep -v "^\[INFO\]" || true
test -f "$out/ragasense_bg.wasm" || { echo "build-npm: wasm-pack produced no wasm" >&2; exit 1; }

# The npm package is named `ragasense` (the crate is raga-wasm).
version="$(awk -F'"' '/^\[workspace.package\]/{w=1} w && /^version/{print $2; exit}' Cargo.toml)"
cp crates/raga-wasm/README.md "$out/README.md"
cat > "$out/package.json" <<JSON
{
  "name": "ragasense",
  "version": "$version",
  "description": "Raga detection in the browser: featurize audio and classify it on WebGPU or the CPU with a model from a RagaSense registry",
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
printf 'build-npm: %s — wasm %.2f MB raw, %.2f MB gzipped (limit 2.5 MB, goal < 1.5 MB)\n' \
    "$out" "$(echo "$raw / 1000000" | bc -l)" "$(echo "$gz / 1000000" | bc -l)"
printf '{"wasm_bytes": %d, "wasm_gzip_bytes": %d}\n' "$raw" "$gz" > "$out/size.json"
