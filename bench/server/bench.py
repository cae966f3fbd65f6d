"""Side-by-side benchmark of our registry server against MLflow's own server.

Run through bench/server/run.sh, which installs wrk and the venv and builds our
server in release. Each server runs alone, on a fresh store, one after the other
on the same machine, and goes through the same steps:

  start-up    spawn -> first HTTP 200 on /health
  ingest      wrk, 8 keep-alive connections, POST runs/log-metric to one run
  search      1000 runs in one experiment, runs/search paging through all of
              them (median of several passes)
  artifact    GET of a 20 MiB artifact through the mlflow-artifacts proxy
              (median of several)
  memory      VmRSS (and Pss) summed over the server's process tree, after the
              workload

Prints a table with ratios and writes everything as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
API = "/api/2.0/mlflow"

# Goals from the issue: ours vs MLflow.
GOALS = {
    "ingest_rps": ("higher", 30.0),   # >= 30x throughput
    "search_ms": ("lower", 20.0),     # <= 1/20 latency
    "rss_mib": ("lower", 20.0),       # <= 1/20 memory
}

WARMUP_S = 3

_live: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    if proc in _live:
        _live.remove(proc)


def _kill_all(*_args) -> None:
    for proc in list(_live):
        _kill(proc)
    if _args:  # called as a signal handler
        sys.exit(130)


# ---- process tree memory ---------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(pid: int) -> list[int]:
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid: int) -> dict:
    pids = _tree(pid)
    return {
        "processes": len(pids),
        "rss_mib": sum(_status_kib(p, "VmRSS") for p in pids) / 1024,
        "pss_mib": sum(_pss_kib(p) for p in pids) / 1024,
    }


# ---- servers ---------------------------------------------------------------

def _wait_health(url: str, proc: subprocess.Popen, deadline: float, logfile: Path) -> None:
    s = requests.Session()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(logfile)}")
        try:
            if s.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"server not healthy in time:\n{_tail(logfile)}")


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def start_mlflow(store: Path, workers: int | None) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    cmd = [str(Path(sys.executable).with_name("mlflow")), "server",
           "--backend-store-uri", f"sqlite:///{store}/db.sqlite",
           "--serve-artifacts", "--artifacts-destination", str(store / "artifacts"),
           "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    logfile = store / "server.log"
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=logfile.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _live.append(proc)
    url = f"http://127.0.0.1:{port}"
    _wait_health(url, proc, t0 + 300, logfile)
    return proc, url, time.monotonic() - t0


def start_ours(store: Path, binary: Path) -> tuple[subprocess.Popen, str, float]:
    out, logfile = store / "stdout.log", store / "server.log"
    cmd = [str(binary), "--port", "0",
           "--backend-store-uri", f"sqlite:///{store}/db.sqlite",
           "--artifacts-destination", str(store / "artifacts")]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out.open("wb"), stderr=logfile.open("wb"),
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _live.append(proc)
    deadline = t0 + 30
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace")
        if "\n" in text:
            m = re.match(r"listening on (http://\S+)", text.splitlines()[0])
            if not m:
                raise RuntimeError(f"unexpected first stdout line: {text.splitlines()[0]!r}")
            url = m.group(1).rstrip("/")
            _wait_health(url, proc, deadline, logfile)
            return proc, url, time.monotonic() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(logfile)}")
        time.sleep(0.002)
    raise RuntimeError(f"no 'listening on' line within 30 s:\n{_tail(logfile)}")


# ---- workload steps --------------------------------------------------------

def _post(s: requests.Session, url: str, body: dict) -> dict:
    r = s.post(url, json=body, timeout=60)
    if r.status_code != 200:
        raise RuntimeError(f"POST {url} -> {r.status_code}: {r.text[:300]}")
    return r.json()


def ingest(url: str, seconds: int, connections: int, threads: int) -> dict:
    s = requests.Session()
    exp = _post(s, f"{url}{API}/experiments/create", {"name": "bench-ingest"})["experiment_id"]
    run_id = _post(s, f"{url}{API}/runs/create",
                   {"experiment_id": exp, "start_time": 1})["run"]["info"]["run_id"]
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "--timeout", "10s", "-s", str(HERE / "log_metric.lua"),
           f"{url}{API}/runs/log-metric"]
    # Warm-up (not counted): lets every server process finish loading and
    # fills caches, so the measured window sees the server at its best.
    warm = [c if not c.startswith("-d") else f"-d{WARMUP_S}s" for c in cmd]
    subprocess.run(warm, capture_output=True, text=True, timeout=WARMUP_S + 60,
                   env={**os.environ, "RUN_ID": run_id, "KEY_PREFIX": "warmup"})
    log(f"ingest: {' '.join(cmd)}")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                         env={**os.environ, "RUN_ID": run_id, "KEY_PREFIX": "loss"})
    if res.returncode != 0:
        raise RuntimeError(f"wrk failed ({res.returncode}): {res.stderr}\n{res.stdout}")
    line = next((l for l in res.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{res.stdout}")
    w = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(w["errors"].values())
    ok = w["requests"] - w["errors"]["status"]
    # Check what the server really stored: every 2xx must be a stored point.
    stored = 0
    for t in range(1, threads + 1):
        r = s.get(f"{url}{API}/metrics/get-history",
                  params={"run_id": run_id, "metric_key": f"loss_t{t}", "max_results": 1_000_000},
                  timeout=120)
        if r.status_code == 200:
            stored += len(r.json().get("metrics", []))
    return {
        "requests": w["requests"],
        "errors": errors,
        "error_detail": w["errors"],
        "stored_points": stored,
        "seconds": w["duration_us"] / 1e6,
        "rps": ok / (w["duration_us"] / 1e6),
        "p50_ms": w["latency_us"]["p50"] / 1000,
        "p90_ms": w["latency_us"]["p90"] / 1000,
        "p99_ms": w["latency_us"]["p99"] / 1000,
        "max_ms": w["latency_us"]["max"] / 1000,
        "connections": connections,
        "wrk_threads": threads,
    }


def search(url: str, n_runs: int, page_size: int, repeats: int) -> dict:
    s = requests.Session()
    exp = _post(s, f"{url}{API}/experiments/create", {"name": "bench-search"})["experiment_id"]
    def make_run(i: int, sessions=threading.local()) -> None:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
        rid = _post(sessions.s, f"{url}{API}/runs/create",
                    {"experiment_id": exp, "start_time": 1_700_000_000_000 + i,
                     "run_name": f"run-{i:04d}"})["run"]["info"]["run_id"]
        _post(sessions.s, f"{url}{API}/runs/log-batch", {
            "run_id": rid,
            "metrics": [{"key": "acc", "value": (i % 97) / 97, "timestamp": 1, "step": 0}],
            "params": [{"key": "lr", "value": str(10 ** -(i % 4))}],
            "tags": [{"key": "fold", "value": str(i % 5)}],
        })

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(make_run, range(n_runs)))
    create_s = time.monotonic() - t0
    log(f"search: created {n_runs} runs in {create_s:.1f}s")

    token_re = re.compile(rb'"next_page_token"\s*:\s*"([^"]*)"')

    def all_pages(max_results: int, verify: bool = False) -> tuple[float, int, int]:
        """Pages through all runs. Timed passes only read the bytes (the token is
        found with a regex), so client-side JSON decoding is not counted; the
        verify pass decodes and counts the runs."""
        start = time.perf_counter()
        token, got, pages = None, 0, 0
        while True:
            body = {"experiment_ids": [exp], "max_results": max_results,
                    "order_by": ["attributes.start_time DESC"]}
            if token:
                body["page_token"] = token
            r = s.post(f"{url}{API}/runs/search", json=body, timeout=60)
            if r.status_code != 200:
                raise RuntimeError(f"runs/search -> {r.status_code}: {r.text[:300]}")
            pages += 1
            if verify:
                page = r.json()
                got += len(page.get("runs", []))
                token = page.get("next_page_token")
            else:
                m = token_re.search(r.content)
                token = m.group(1).decode() if m else None
            if not token:
                break
        return (time.perf_counter() - start) * 1000, got, pages

    for size in (page_size, n_runs):
        _, got, _ = all_pages(size, verify=True)  # also the warm-up
        if got != n_runs:
            raise RuntimeError(f"search returned {got} runs, expected {n_runs}")
    paged = [all_pages(page_size) for _ in range(repeats)]
    single = [all_pages(n_runs) for _ in range(repeats)]
    return {
        "runs": n_runs,
        "create_runs_s": create_s,
        "page_size": page_size,
        "pages": paged[0][2],
        "paged_ms_median": statistics.median(p[0] for p in paged),
        "paged_ms_all": [round(p[0], 2) for p in paged],
        "single_page_ms_median": statistics.median(p[0] for p in single),
        "repeats": repeats,
    }


def artifact(url: str, size_mib: int, repeats: int, blob: bytes) -> dict:
    s = requests.Session()
    exp = _post(s, f"{url}{API}/experiments/create", {"name": "bench-artifact"})["experiment_id"]
    run = _post(s, f"{url}{API}/runs/create", {"experiment_id": exp, "start_time": 1})["run"]["info"]
    path = f"{exp}/{run['run_id']}/artifacts/blob.bin"
    art = f"{url}/api/2.0/mlflow-artifacts/artifacts/{path}"
    t0 = time.perf_counter()
    r = s.put(art, data=blob, timeout=120, headers={"Content-Type": "application/octet-stream"})
    upload_ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"upload -> {r.status_code}: {r.text[:300]}")
    want = hashlib.sha256(blob).hexdigest()

    encodings = set()

    def download() -> float:
        # Default headers, as the mlflow client (requests) sends them:
        # Accept-Encoding: gzip, deflate.
        start = time.perf_counter()
        h = hashlib.sha256()
        with s.get(art, stream=True, timeout=120) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"download -> {resp.status_code}")
            encodings.add(resp.headers.get("content-encoding", "identity"))
            for chunk in resp.iter_content(1 << 20):
                h.update(chunk)
        ms = (time.perf_counter() - start) * 1000
        if h.hexdigest() != want:
            raise RuntimeError("downloaded artifact differs from the upload")
        return ms

    download()  # warm-up
    times = [download() for _ in range(repeats)]
    return {"size_mib": size_mib, "upload_ms": upload_ms,
            "download_ms_median": statistics.median(times),
            "download_ms_all": [round(t, 2) for t in times], "repeats": repeats,
            "content_encoding": sorted(encodings)}


def bench_one(kind: str, args, blob: bytes) -> dict:
    store = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    log(f"{kind}: store {store}")
    proc = None
    try:
        if kind == "mlflow":
            proc, url, startup = start_mlflow(store, args.mlflow_workers)
        else:
            proc, url, startup = start_ours(store, Path(args.server_bin))
        log(f"{kind}: up at {url} after {startup:.2f}s")
        result = {"startup_s": startup, "url": url, "loadavg_before": os.getloadavg()}
        result["memory_idle"] = memory(proc.pid)
        result["ingest"] = ingest(url, args.duration, args.connections, args.wrk_threads)
        log(f"{kind}: ingest {result['ingest']['rps']:.0f} req/s, "
            f"p99 {result['ingest']['p99_ms']:.1f} ms, errors {result['ingest']['errors']}")
        result["search"] = search(url, args.runs, args.page_size, args.repeats)
        log(f"{kind}: search {result['search']['paged_ms_median']:.1f} ms")
        result["artifact"] = artifact(url, args.artifact_mib, args.repeats, blob)
        log(f"{kind}: artifact {result['artifact']['download_ms_median']:.1f} ms")
        result["memory"] = memory(proc.pid)
        result["loadavg_after"] = os.getloadavg()
        log(f"{kind}: RSS {result['memory']['rss_mib']:.0f} MiB "
            f"over {result['memory']['processes']} processes")
        return result
    finally:
        if proc is not None:
            _kill(proc)
        if not args.keep_stores:
            shutil.rmtree(store, ignore_errors=True)


# ---- report ----------------------------------------------------------------

ROWS = [
    # key, label, getter, which direction is better
    ("ingest_rps", "log-metric throughput (req/s)", lambda r: r["ingest"]["rps"], "higher"),
    ("ingest_p99_ms", "log-metric p99 latency (ms)", lambda r: r["ingest"]["p99_ms"], "lower"),
    ("search_ms", "search 1000 runs, paged (ms)", lambda r: r["search"]["paged_ms_median"], "lower"),
    ("search_single_ms", "search 1000 runs, one page (ms)",
     lambda r: r["search"]["single_page_ms_median"], "lower"),
    ("artifact_ms", "20 MiB artifact download (ms)",
     lambda r: r["artifact"]["download_ms_median"], "lower"),
    ("startup_s", "start-up to first 200 (s)", lambda r: r["startup_s"], "lower"),
    ("rss_mib", "RSS after workload (MiB)", lambda r: r["memory"]["rss_mib"], "lower"),
]


def summarize(results: dict) -> list[dict]:
    rows = []
    for key, label, get, better in ROWS:
        row = {"key": key, "label": label, "better": better}
        for kind in ("mlflow", "ours"):
            row[kind] = get(results[kind]) if kind in results else None
        m, o = row["mlflow"], row["ours"]
        if m is not None and o is not None and m > 0 and o > 0:
            # "advantage": how many times better ours is (>1 = ours better).
            row["advantage"] = o / m if better == "higher" else m / o
        else:
            row["advantage"] = None
        if key in GOALS:
            row["goal"] = GOALS[key][1]
            row["goal_met"] = None if row["advantage"] is None else row["advantage"] >= GOALS[key][1]
        rows.append(row)
    return rows


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def print_table(rows: list[dict]) -> None:
    head = f"{'measure':<36} {'MLflow':>12} {'ours':>12} {'ours better by':>15}  goal"
    print(head)
    print("-" * len(head))
    for r in rows:
        adv = "-" if r["advantage"] is None else f"{r['advantage']:,.1f}x"
        goal = ""
        if "goal" in r:
            status = {True: "met", False: "MISSED", None: "?"}[r["goal_met"]]
            goal = f">= {r['goal']:.0f}x {status}"
        print(f"{r['label']:<36} {_fmt(r['mlflow']):>12} {_fmt(r['ours']):>12} {adv:>15}  {goal}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["mlflow", "ours"], help="benchmark one server only "
                   "(the other's numbers are kept from an earlier --out file if present)")
    p.add_argument("--server-bin", default=os.environ.get("RAGASENSE_SERVER_BIN"))
    p.add_argument("--mlflow-workers", type=int, default=None,
                   help="uvicorn workers for mlflow server (default: MLflow's own default)")
    p.add_argument("--duration", type=int, default=20, help="wrk seconds")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--artifact-mib", type=int, default=20)
    p.add_argument("--out", default=str(REPO / "target" / "bench" / "server.json"))
    p.add_argument("--keep-stores", action="store_true")
    args = p.parse_args()

    signal.signal(signal.SIGTERM, _kill_all)
    signal.signal(signal.SIGINT, _kill_all)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"

    kinds = [args.only] if args.only else ["mlflow", "ours"]
    if "ours" in kinds and not (args.server_bin and Path(args.server_bin).exists()):
        p.error(f"our server binary not found: {args.server_bin!r} (set --server-bin)")

    out = Path(args.out)
    previous = {}
    if args.only and out.exists():
        previous = json.loads(out.read_text()).get("results", {})

    blob = os.urandom(args.artifact_mib * 1024 * 1024)
    results = {k: v for k, v in previous.items() if k not in kinds}
    try:
        for kind in kinds:
            results[kind] = bench_one(kind, args, blob)
            results[kind]["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    finally:
        _kill_all()

    import mlflow
    rows = summarize(results)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "mlflow_version": mlflow.__version__,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "results": results,
        "summary": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print()
    print_table(rows)
    cpus = os.cpu_count() or 1
    for kind, r in results.items():
        load = max(r.get("loadavg_before", [0])[0], r.get("loadavg_after", [0])[0])
        note = "  <- busy machine: numbers are noisy" if load > 0.5 * cpus else ""
        print(f"{kind}: 1-min load average up to {load:.1f} on {cpus} CPUs, "
              f"measured {r.get('measured_at', '?')}{note}")
    print(f"\n(json: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
