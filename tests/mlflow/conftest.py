"""Starts the server under test (ours or MLflow's own) and points the official
mlflow client at it.

Options:
  --against-mlflow   run the suite against `mlflow server` instead of ours
  --server-url URL   use a server that is already running (ours unless
                     --against-mlflow is also given)
  --artifact-store s3
                     our server keeps artifacts in an S3-compatible store: moto's
                     server, started on loopback (default: a local folder)
  --replicas N       run N of our servers on one store (one database, one artifact
                     store) behind a round-robin balancer on loopback, so consecutive
                     requests go to different processes (default: 1)
  --backend-store postgres
                     our server keeps its database in PostgreSQL: a throwaway cluster
                     on loopback (tests/postgres-loopback.sh), one database per store
                     (default: a SQLite file per store)
Env:
  RAGASENSE_SERVER_BIN  our binary (default: $CARGO_TARGET_DIR or <repo>/target,
                        then debug/registry-server)
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from roundrobin import RoundRobin

REPO = Path(__file__).resolve().parents[2]

# Fail fast instead of letting the client retry 5xx responses with back-off,
# and never phone home.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"


def pytest_addoption(parser):
    parser.addoption("--against-mlflow", action="store_true",
                     help="run against MLflow's own server instead of ours")
    parser.addoption("--server-url", default=None,
                     help="use an already running server at this URL")
    parser.addoption("--artifact-store", choices=("local", "s3"), default="local",
                     help="where our server keeps artifacts: a local folder, or S3 (moto on loopback)")
    parser.addoption("--replicas", type=int, default=1,
                     help="our servers sharing one store behind a round-robin balancer")
    parser.addoption("--backend-store", choices=("sqlite", "postgres"), default="sqlite",
                     help="our server's database: a SQLite file, or PostgreSQL on loopback")


# Set from --artifact-store: "local" or "s3".
ARTIFACT_STORE = "local"
# The moto S3 server, started on first use: (process, endpoint URL).
_S3: tuple[subprocess.Popen, str] | None = None
S3_BUCKET = "ragasense-test"
# Set from --backend-store: "sqlite" or "postgres".
BACKEND_STORE = "sqlite"
# The PostgreSQL cluster, started on first use: its data folder and base URI.
_PG: tuple[Path, str] | None = None
# Store folder → its database URI (a store keeps its database across restarts).
_STORE_URIS: dict[Path, str] = {}


def pytest_configure(config):
    global ARTIFACT_STORE, BACKEND_STORE
    ARTIFACT_STORE = config.getoption("--artifact-store")
    BACKEND_STORE = config.getoption("--backend-store")
    config.addinivalue_line(
        "markers", "ours_only: behaviour only our server has (MLflow differs or lacks it)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--against-mlflow"):
        return
    skip = pytest.mark.skip(reason="ours only: MLflow itself differs or lacks this")
    for item in items:
        if "ours_only" in item.keywords:
            item.add_marker(skip)


# Requests each replica answered, for the summary (filled when the balancer stops).
BALANCED: list[int] = []


def pytest_terminal_summary(terminalreporter):
    if BALANCED:
        terminalreporter.write_line(f"round-robin balancer: requests per replica {BALANCED}")


def pytest_report_header(config):
    kind = "mlflow" if config.getoption("--against-mlflow") else "ragasense"
    import mlflow
    return (f"server under test: {kind}; mlflow client {mlflow.__version__}; "
            f"artifacts: {config.getoption('--artifact-store')}; "
            f"replicas: {config.getoption('--replicas')}, backend store: {config.getoption('--backend-store')}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http_ok(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.exit(f"server exited with {proc.returncode}; log:\n{_tail(log)}", 3)
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.exit(f"server not ready after {timeout:.0f}s; log:\n{_tail(log)}", 3)


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _our_binary() -> Path:
    if env := os.environ.get("RAGASENSE_SERVER_BIN"):
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "registry-server"


def _s3_endpoint() -> str:
    """Starts moto's S3 server on loopback once per session, with one bucket; its URL."""
    global _S3
    if _S3 is not None:
        return _S3[1]
    moto = Path(sys.executable).with_name("moto_server")
    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log"
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait_http_ok(url + "/moto-api/", proc, 60, log)
    requests.put(f"{url}/{S3_BUCKET}", timeout=10).raise_for_status()
    _S3 = (proc, url)
    atexit.register(_stop, proc)
    return url


def _postgres() -> str:
    """Starts a PostgreSQL cluster on loopback once per session; its base URI."""
    global _PG
    if _PG is not None:
        return _PG[1]
    data = Path(tempfile.mkdtemp(prefix="pg-"))
    script = REPO / "tests" / "postgres-loopback.sh"
    done = subprocess.run(["bash", str(script), "start", str(data)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.exit(f"could not start PostgreSQL:\n{done.stdout}{done.stderr}", 3)
    uri = done.stdout.strip().splitlines()[-1]
    _PG = (data, uri)
    atexit.register(lambda: subprocess.run(["bash", str(script), "stop", str(data)], capture_output=True))
    return uri


def _store_uri(store: Path) -> str:
    """The --backend-store-uri of `store`: a SQLite file in it, or a database of its own."""
    if BACKEND_STORE != "postgres":
        return f"sqlite:///{store}/db.sqlite"
    if store not in _STORE_URIS:
        base = _postgres()
        database = "store_" + re.sub(r"[^a-z0-9_]", "_", store.name.lower())
        subprocess.run(["psql", base, "-v", "ON_ERROR_STOP=1", "-qc", f'CREATE DATABASE "{database}"'],
                       check=True, capture_output=True, timeout=60)
        _STORE_URIS[store] = base.rsplit("/", 1)[0] + "/" + database
    return _STORE_URIS[store]


def _artifact_args(store: Path) -> tuple[list[str], dict[str, str]]:
    """The --artifacts-destination for a server on `store`, and its environment."""
    env = dict(os.environ)
    if ARTIFACT_STORE != "s3":
        return ["--artifacts-destination", str(store / "artifacts")], env
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=_s3_endpoint())
    return ["--artifacts-destination", f"s3://{S3_BUCKET}/{store.name}"], env


def _start_ours(store: Path, log: Path, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    binary = _our_binary()
    if not binary.exists():
        pytest.exit(f"server binary {binary} not found: build it or set RAGASENSE_SERVER_BIN", 3)
    out = log.with_name(log.stem + ".stdout")
    artifacts, env = _artifact_args(store)
    cmd = [str(binary), "--port", "0",
           "--backend-store-uri", _store_uri(store), *artifacts, *extra]
    proc = subprocess.Popen(cmd, stdout=out.open("wb"), stderr=log.open("wb"), env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace")
        if "\n" in text:
            first = text.splitlines()[0]
            m = re.match(r"listening on (http://\S+)", first)
            if not m:
                pytest.exit(f"unexpected first stdout line from server: {first!r}", 3)
            url = m.group(1).rstrip("/")
            _wait_http_ok(url + "/health", proc, 10, log)
            return proc, url
        if proc.poll() is not None:
            pytest.exit(f"server exited with {proc.returncode}; stderr:\n{_tail(log)}", 3)
        time.sleep(0.02)
    pytest.exit(f"server printed no 'listening on' line in 30 s; stderr:\n{_tail(log)}", 3)


def _start_mlflow(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    port = _free_port()
    cmd = [str(mlflow_cli), "server",
           "--backend-store-uri", f"sqlite:///{store}/db.sqlite",
           "--serve-artifacts", "--artifacts-destination", str(store / "artifacts"),
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait_http_ok(url + "/health", proc, 240, log)
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=3)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.fixture(scope="session")
def server_kind(pytestconfig) -> str:
    """"mlflow" or "ragasense"."""
    return "mlflow" if pytestconfig.getoption("--against-mlflow") else "ragasense"


@pytest.fixture(scope="session")
def server_url(pytestconfig, server_kind, tmp_path_factory):
    """Base URL of the server under test; the mlflow client points at it."""
    import mlflow

    given = pytestconfig.getoption("--server-url")
    procs: list[subprocess.Popen] = []
    balancer = None
    if given:
        url = given.rstrip("/")
    else:
        store = tmp_path_factory.mktemp("store")
        replicas = pytestconfig.getoption("--replicas")
        if replicas > 1 and server_kind == "mlflow":
            pytest.exit("--replicas is for our server", 4)
        start = _start_mlflow if server_kind == "mlflow" else _start_ours
        t0 = time.monotonic()
        started = [start(store, store / f"server-{i}.log") for i in range(max(replicas, 1))]
        procs = [p for p, _ in started]
        url = started[0][1]
        if replicas > 1:
            balancer = RoundRobin([u for _, u in started])
            url = balancer.url
        sys.stderr.write(f"\n{server_kind} server up at {url} in {time.monotonic() - t0:.1f}s "
                         f"({len(procs)} process(es); logs: {store}/server-*.log)\n")
    os.environ["MLFLOW_TRACKING_URI"] = url
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    yield url
    if balancer is not None:
        BALANCED.extend(balancer.counts)
        balancer.close()
    for proc in procs:
        _stop(proc)


@pytest.fixture
def client(server_url):
    from mlflow import MlflowClient
    return MlflowClient(tracking_uri=server_url, registry_uri=server_url)


@pytest.fixture
def name():
    """A fresh unique name, so tests never see each other's entities."""
    counter = iter(range(1_000_000))
    base = f"t-{uuid.uuid4().hex[:10]}"

    def make(prefix: str = "") -> str:
        return f"{prefix}{base}-{next(counter)}"
    return make


@pytest.fixture
def experiment_id(client, name) -> str:
    return client.create_experiment(name("exp-"))


@pytest.fixture
def run_id(client, experiment_id) -> str:
    return client.create_run(experiment_id).info.run_id


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="mlflow-acc-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)
