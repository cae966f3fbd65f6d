#!/usr/bin/env bash
# Runs every RagaSense test: lints, unit and end-to-end suites (native), the DSP suite on
# wasm32 under Node, the registry server against the official MLflow client (artifacts on
# disk; then on PostgreSQL with artifacts in S3 and two replicas), the fuzz corpus replayed
# through its checks (in cargo test), the npm packages (browser runtime: `ragasense` and the
# CPU-only `ragasense-cpu`) in Node and headless Chromium, and the web app and the
# registry's dashboard in Chromium.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A CI build is cold and runs once: incremental caches would only cost disk and time.
if [[ "${CI:-}" == true ]]; then export CARGO_INCREMENTAL=0; fi

bash scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "cargo test --workspace"
cargo test --workspace

log "the registry server's suites again, each test on a database of its own in PostgreSQL (on loopback)"
pg_dir="$(mktemp -d /tmp/ragasense-pg.XXXXXX)"
trap 'bash tests/postgres-loopback.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
pg_uri="$(bash tests/postgres-loopback.sh start "$pg_dir")"
RAGASENSE_TEST_POSTGRES="$pg_uri" cargo test -p registry-server --tests
bash tests/postgres-loopback.sh stop "$pg_dir" >/dev/null

log "raga-dsp on wasm32-unknown-unknown (Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p raga-dsp --target wasm32-unknown-unknown --test same_on_wasm

log "registry server against the official MLflow client"
cargo build -p registry-server --bin registry-server
RAGASENSE_SERVER_BIN="$root/target/debug/registry-server" bash tests/mlflow/run.sh -q

log "the same suite on PostgreSQL and S3 (both on loopback), two server replicas taking alternate requests"
RAGASENSE_SERVER_BIN="$root/target/debug/registry-server" \
    bash tests/mlflow/run.sh -q --backend-store postgres --artifact-store s3 --replicas 2

log "npm packages ragasense and ragasense-cpu (wasm-pack, size-optimised)"
bash scripts/build-npm.sh
bash scripts/build-npm.sh --cpu-only

log "web app (web/dist)"
bash scripts/build-web.sh

log "registry dashboard (dashboard/dist)"
bash scripts/build-dashboard.sh

log "browser runtime: Node (CPU path) and headless Chromium (WebGPU on SwiftShader, and without); the web app; the dashboard"
cargo build -p raga-cli --bin ragasense
(cd tests/browser && RAGASENSE_SERVER_BIN="$root/target/debug/registry-server" \
    node --test --test-concurrency=1 node-cpu.test.mjs chromium.test.mjs webapp.test.mjs dashboard.test.mjs)

log "the CPU-only package ragasense-cpu in Node (the same suite as ragasense's)"
(cd tests/browser && RAGASENSE_SERVER_BIN="$root/target/debug/registry-server" \
    RAGASENSE_NPM_DIR="$root/target/npm/ragasense-cpu" node --test node-cpu.test.mjs)

log "all tests passed"
