# Shared by the bench/*/run.sh scripts: `source "$root/bench/lib.sh"` from the repo root.
#   server_binary   builds the release server unless $RAGASENSE_SERVER_BIN names one, and
#                   exports RAGASENSE_SERVER_BIN
#   bench_binary B  builds raga-bench's binary B (release; debug when
#                   RAGASENSE_BENCH_PROFILE=debug) and prints its path
target="${CARGO_TARGET_DIR:-$root/target}"

server_binary() {
    if [[ -z "${RAGASENSE_SERVER_BIN:-}" ]]; then
        echo "bench: cargo build --release -p registry-server" >&2
        cargo build --release -q -p registry-server --bin registry-server
        export RAGASENSE_SERVER_BIN="$target/release/registry-server"
    fi
}

bench_binary() {
    if [[ "${RAGASENSE_BENCH_PROFILE:-release}" == debug ]]; then
        echo "bench: cargo build -p raga-bench --bin $1 (debug: RAGASENSE_BENCH_PROFILE=debug)" >&2
        cargo build -q -p raga-bench --bin "$1"
        echo "$target/debug/$1"
        return
    fi
    echo "bench: cargo build --release -p raga-bench --bin $1" >&2
    cargo build --release -q -p raga-bench --bin "$1"
    echo "$target/release/$1"
}
