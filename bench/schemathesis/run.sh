#!/usr/bin/env bash
# Fuzzes the registry server's API from its own /openapi.json with schemathesis (every
# check, coverage + fuzzing phases) against a release build on a fresh store, then prints the
# figures: operations, test cases, server errors (5xx: schemathesis' count and the server's
# own access log), response conformance failures (status codes, content types, headers and
# bodies that /openapi.json does not describe), and the request-validation disagreements
# (the server refuses or accepts what the schema cannot express: filter grammar, page tokens,
# MLflow's 400 for a name that exists). Exits nonzero on any 5xx or response conformance
# failure. Writes target/bench/schemathesis.json and the full report beside it.
#
#   bench/schemathesis/run.sh                         # 50 examples per operation, seed 1
#   bench/schemathesis/run.sh --max-examples 200 --seed 7   # any `schemathesis run` option
#
# Env: RAGASENSE_SERVER_BIN       use this server binary instead of building one
#      CARGO_TARGET_DIR           where cargo builds (default <repo>/target)
#      RAGASENSE_SCHEMATHESIS_VENV  the venv (default <repo>/.venv-schemathesis)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

SCHEMATHESIS_VERSION="4.32.5"
venv="${RAGASENSE_SCHEMATHESIS_VENV:-$root/.venv-schemathesis}"
stamp="$venv/.ragasense-requirements"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "schemathesis==$SCHEMATHESIS_VERSION" ]]; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        echo "bench: installing python3-venv" >&2
        apt-get install -y python3-venv >&2
    fi
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" >&2
    echo "bench: installing schemathesis==$SCHEMATHESIS_VERSION into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
    echo "schemathesis==$SCHEMATHESIS_VERSION" > "$stamp"
fi

source "$root/bench/lib.sh"
server_binary

out="$root/target/bench"
mkdir -p "$out"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
# No web app or dashboard: their fallbacks are not part of the API.
"$RAGASENSE_SERVER_BIN" --log-format json --port 0 --backend-store-uri "sqlite:///$work/mlruns.db" \
    --artifacts-destination "$work/artifacts" --web-dir "$work/no-web" --ui-dir "$work/no-ui" \
    >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/stdout" 2>/dev/null && break
    sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$work/stdout")"
[[ -n "$url" ]] || { echo "bench: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

# Defaults, overridable by the arguments (schemathesis takes the last value of an option);
# run from the scratch folder, where schemathesis leaves its .schemathesis cache.
echo "bench: machine load before: $(uptime)" >&2
echo "bench: schemathesis $SCHEMATHESIS_VERSION against $url/openapi.json" >&2
set +e
(cd "$work" && "$venv/bin/schemathesis" run "$url/openapi.json" --checks all --max-examples 50 --seed 1 --generation-database none \
    --no-color --report json --report-json-path "$out/schemathesis-report.json" "$@") >"$out/schemathesis.log" 2>&1
st_rc=$?
set -e
tail -n 25 "$out/schemathesis.log" >&2
server_5xx="$(grep -cE '"status":5[0-9]{2},' "$work/server.log" || true)"
server_requests="$(grep -cE '"status":[0-9]{3},' "$work/server.log" || true)"

"$venv/bin/python" - "$out/schemathesis-report.json" "$out/schemathesis.json" "$server_5xx" "$server_requests" "$st_rc" <<'PY'
import json, sys
report_path, summary_path, server_5xx, server_requests, st_rc = sys.argv[1:6]
try:
    r = json.load(open(report_path))
except (OSError, ValueError) as e:
    sys.exit(f"bench: no schemathesis report ({e}); see target/bench/schemathesis.log")
groups = {"server_errors": [], "response_conformance": [], "request_validation": [], "other": []}
for f in r.get("failures", []):
    code = f.get("code", "")
    group = ("server_errors" if code in ("ST101", "ST102") else
             "response_conformance" if code.startswith("ST1") else
             "request_validation" if code.startswith("ST2") else "other")
    groups[group].append({"code": code, "title": f.get("title"), "count": f.get("count", 0),
                          "operations": f.get("operations", [])})
count = lambda g: sum(f["count"] for f in groups[g])
summary = {
    "schemathesis": r.get("schemathesis_version"), "seed": r.get("seed"),
    "operations_tested": r["operations"]["tested"], "operations": r["operations"]["total"],
    "test_cases": r["test_cases"]["generated"], "errored_test_cases": r["test_cases"]["errored"],
    "server_errors_5xx_schemathesis": count("server_errors"),
    "server_errors_5xx_server_log": int(server_5xx), "requests_in_server_log": int(server_requests),
    "response_conformance_failures": count("response_conformance"),
    "request_validation_disagreements": count("request_validation"),
    "other_failures": count("other"), "schemathesis_exit_code": int(st_rc), "failures": groups,
}
json.dump(summary, open(summary_path, "w"), indent=2)
print(f"schemathesis {summary['schemathesis']} (seed {summary['seed']}): {summary['operations_tested']}/"
      f"{summary['operations']} operations, {summary['test_cases']} test cases, "
      f"{summary['requests_in_server_log']} requests reached the server")
print(f"server errors (5xx): {summary['server_errors_5xx_schemathesis']} found by schemathesis, "
      f"{summary['server_errors_5xx_server_log']} in the server's access log")
print(f"response conformance failures (status, content type, headers, body schema): "
      f"{summary['response_conformance_failures']}")
for g in ("server_errors", "response_conformance", "request_validation", "other"):
    for f in groups[g]:
        ops = ", ".join(f["operations"][:6]) + (" …" if len(f["operations"]) > 6 else "")
        print(f"  {f['code']} {f['title']}: {f['count']} ({ops})")
print(f"request-validation disagreements (not failing this run): {summary['request_validation_disagreements']}")
bad = summary["server_errors_5xx_schemathesis"] + summary["server_errors_5xx_server_log"] \
    + summary["response_conformance_failures"] + summary["errored_test_cases"]
if bad:
    sys.exit(f"bench: {bad} server errors, response conformance failures or errored test cases "
             "(details in target/bench/schemathesis.log)")
print("0 server errors, 0 response conformance failures")
PY
