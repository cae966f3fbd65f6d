#!/usr/bin/env bash
# Training throughput and inference latency of the raga model per device (flex vs wgpu),
# measured in one run. Usage: bench/train/run.sh [--profile small|full] [--devices flex,wgpu] [--steps N]
# Writes target/bench/train.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release -q -p raga-bench --bin train_bench
exec target/release/train_bench "$@"
