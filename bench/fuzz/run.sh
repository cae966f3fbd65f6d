#!/usr/bin/env bash
# Fuzzes the three parsers that take bytes from strangers, each for 10 minutes, with
# cargo-fuzz (libFuzzer + AddressSanitizer + debug assertions, on nightly):
#   audio_decode     raga_audio::decode + raga_dsp::extract   (uploads, CLI, browser)
#   package_load     raga_model::Classifier::from_package     (browser, CLI, serving, export)
#   telemetry_parse  registry_server::telemetry::parse_batch  (POST /v1/telemetry)
# What each asserts is in fuzz/oracles/src/lib.rs. The corpus in fuzz/corpus/<target>/ is
# committed and grows with every run (minimised at the end, as `cargo fuzz cmin` does); CI replays
# it through the same checks (tests/tests/fuzz_corpus.rs). Prints executions, coverage,
# corpus size and crashes per target; exits nonzero on any crash (inputs in fuzz/artifacts/).
#
#   bash bench/fuzz/run.sh                          # all three at once, 600 s each
#   bash bench/fuzz/run.sh --seconds 60 telemetry_parse
#   bash bench/fuzz/run.sh --one-by-one             # one target at a time
#   bash bench/fuzz/run.sh --no-cmin                # keep every new input
#
# Installs the nightly toolchain and cargo-fuzz when missing. The first build compiles the
# whole dependency tree instrumented (about 25 minutes on 2 cores); fuzz/target keeps it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

seconds=600
parallel=1
cmin=1
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --one-by-one) parallel=0; shift ;;
        --no-cmin) cmin=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(audio_decode package_load telemetry_parse)

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing the nightly toolchain (cargo-fuzz needs it for the sanitizer flags)" >&2
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz > /dev/null; then
    echo "fuzz: cargo install cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

echo "fuzz: cargo +nightly fuzz build (AddressSanitizer, debug assertions)" >&2
cargo +nightly fuzz build
# The targets run from the binaries just built: editing the sources meanwhile changes nothing.
bin="$root/fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"

logs="$root/target/bench/fuzz"
mkdir -p "$logs"
echo "fuzz: machine load before: $(uptime)" >&2

run_one() {
    local t="$1"
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    local before
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    set +e
    # -timeout: one input may take 10 s; -rss_limit_mb: more than 2 GiB is a crash (a
    # hostile header must not make us allocate without bound); -max_len: the largest seed
    # (a whole model package) so mutations can reach every byte of it.
    local max_len
    max_len=$(find "fuzz/corpus/$t" -type f -printf '%s\n' | sort -n | tail -1)
    "$bin/$t" "fuzz/corpus/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len:-4096}" \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" > "$logs/$t.log" 2>&1
    local rc=$?
    set -e
    echo "$rc $before" > "$logs/$t.rc"
}

start=$(date +%s)
if [[ $parallel == 1 ]]; then
    for t in "${targets[@]}"; do run_one "$t" & done
    wait
else
    for t in "${targets[@]}"; do run_one "$t"; done
fi
elapsed=$(( $(date +%s) - start ))

failed=0
printf '\n%-16s %8s %12s %9s %8s %10s %8s %7s\n' target seconds executions exec/s cov corpus rss_mb crashes
for t in "${targets[@]}"; do
    read -r rc before < "$logs/$t.rc"
    stat() { grep -o "stat::$1: *[0-9]*" "$logs/$t.log" | tail -1 | grep -o '[0-9]*$' || echo 0; }
    execs=$(stat number_of_executed_units)
    per_s=$(stat average_exec_per_sec)
    rss=$(stat peak_rss_mb)
    cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1 | grep -o '[0-9]*' || echo 0)
    crashes=$(find "fuzz/artifacts/$t" -type f | wc -l)
    if [[ $rc != 0 ]]; then
        failed=1
        [[ $crashes == 0 ]] && crashes="rc=$rc"
    fi
    if [[ $cmin == 1 && $rc == 0 ]]; then
        # What `cargo fuzz cmin` does: merge into an empty folder the inputs that add
        # coverage. Inputs above these sizes are left out (the seeds are smaller, and the
        # committed corpus stays a few MiB); `regression-*` inputs, which once crashed, are
        # always kept.
        case "$t" in package_load) keep=36864 ;; audio_decode) keep=8192 ;; *) keep=4096 ;; esac
        local_min="$logs/$t.min" small="$logs/$t.small"
        rm -rf "$local_min" "$small" && mkdir -p "$local_min" "$small"
        find "fuzz/corpus/$t" -type f -size -"$((keep + 1))"c ! -name 'regression-*' -exec cp {} "$small/" \;
        if "$bin/$t" -merge=1 -timeout=10 -rss_limit_mb=2048 "$local_min" "$small" \
            > "$logs/$t.cmin.log" 2>&1 && [[ -n "$(ls -A "$local_min")" ]]; then
            find "fuzz/corpus/$t" -type f ! -name 'regression-*' -delete
            mv "$local_min"/* "fuzz/corpus/$t/"
        else
            echo "fuzz: minimising the $t corpus failed (see $logs/$t.cmin.log); kept it whole" >&2
        fi
    fi
    after=$(find "fuzz/corpus/$t" -type f | wc -l)
    printf '%-16s %8s %12s %9s %8s %4s→%-5s %8s %7s\n' "$t" "$seconds" "$execs" "$per_s" "$cov" "$before" "$after" "$rss" "$crashes"
    printf '{"target":"%s","seconds":%s,"executions":%s,"exec_per_s":%s,"coverage":%s,"corpus_before":%s,"corpus_after":%s,"peak_rss_mb":%s,"exit":%s}\n' \
        "$t" "$seconds" "$execs" "$per_s" "$cov" "$before" "$after" "$rss" "$rc" >> "$logs/summary.jsonl"
done
echo "fuzz: ${elapsed}s wall; logs in $logs; machine load after: $(uptime)"
if [[ $failed == 1 ]]; then
    echo "fuzz: CRASHES: the inputs are in fuzz/artifacts/<target>/; reproduce with" \
        "fuzz/target/<host>/release/<target> fuzz/artifacts/<target>/<file>" >&2
    exit 1
fi
