"""Artifacts through the mlflow-artifacts proxy: upload, list, download."""

import hashlib
import os

import mlflow
import pytest
import requests

from helpers import expect_json_error


def _tree(root):
    """{relative path: sha256} for every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


@pytest.fixture
def local_tree(workdir):
    src = workdir / "src"
    (src / "weights" / "shards").mkdir(parents=True)
    (src / "manifest.json").write_text('{"format": 1}')
    (src / "weights" / "config.json").write_text("{}")
    (src / "weights" / "shards" / "00.bin").write_bytes(bytes(range(256)) * 16)
    (src / "empty.txt").write_bytes(b"")
    return src


def test_log_artifact_single_file(client, run_id, workdir):
    f = workdir / "notes.txt"
    f.write_text("alap, jor, jhala\n")
    client.log_artifact(run_id, str(f))
    client.log_artifact(run_id, str(f), artifact_path="docs/deep")
    top = {a.path: a for a in client.list_artifacts(run_id)}
    assert set(top) == {"notes.txt", "docs"}
    assert not top["notes.txt"].is_dir and top["notes.txt"].file_size == f.stat().st_size
    assert top["docs"].is_dir
    [deep] = client.list_artifacts(run_id, "docs")
    assert deep.path == "docs/deep" and deep.is_dir
    [leaf] = client.list_artifacts(run_id, "docs/deep")
    assert leaf.path == "docs/deep/notes.txt" and not leaf.is_dir

    dst = workdir / "dl"
    dst.mkdir()
    got = client.download_artifacts(run_id, "docs/deep/notes.txt", str(dst))
    assert open(got).read() == "alap, jor, jhala\n"


def test_log_artifacts_nested_dirs_round_trip(client, run_id, local_tree, workdir):
    client.log_artifacts(run_id, str(local_tree), artifact_path="model")
    listing = {a.path: a.is_dir for a in client.list_artifacts(run_id, "model")}
    assert listing == {"model/manifest.json": False, "model/weights": True, "model/empty.txt": False}
    shards = client.list_artifacts(run_id, "model/weights/shards")
    assert [(a.path, a.file_size) for a in shards] == [("model/weights/shards/00.bin", 4096)]

    dst = workdir / "dl"
    dst.mkdir()
    got = client.download_artifacts(run_id, "model", str(dst))
    assert _tree(got) == _tree(local_tree)


def test_few_mb_file(client, run_id, workdir):
    big = workdir / "big.bin"
    big.write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    client.log_artifact(run_id, str(big), artifact_path="blobs")
    [entry] = client.list_artifacts(run_id, "blobs")
    assert entry.file_size == big.stat().st_size
    dst = workdir / "dl"
    dst.mkdir()
    got = client.download_artifacts(run_id, "blobs/big.bin", str(dst))
    assert hashlib.sha256(open(got, "rb").read()).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_overwrite_artifact(client, run_id, workdir):
    f = workdir / "a.txt"
    f.write_text("one")
    client.log_artifact(run_id, str(f))
    f.write_text("two!")
    client.log_artifact(run_id, str(f))
    dst = workdir / "dl"
    dst.mkdir()
    assert open(client.download_artifacts(run_id, "a.txt", str(dst))).read() == "two!"


def test_fluent_artifacts(server_url, name, local_tree, workdir):
    mlflow.set_experiment(name("fluent-art-"))
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(local_tree))
        mlflow.log_text("hello", "texts/hello.txt")
        mlflow.log_dict({"k": [1, 2]}, "cfg/params.json")
    dst = workdir / "dl"
    dst.mkdir()
    root = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(dst))
    tree = _tree(root)
    assert set(tree) == set(_tree(local_tree)) | {"texts/hello.txt", "cfg/params.json"}
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/texts/hello.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/cfg/params.json") == {"k": [1, 2]}


def test_list_empty_and_missing(client, run_id):
    assert client.list_artifacts(run_id) == []
    assert client.list_artifacts(run_id, "no/such/dir") == []


def test_raw_proxy_routes(server_url, run_id, client):
    """The wire format the client uses: PUT/GET .../mlflow-artifacts/artifacts/<path>,
    GET .../mlflow-artifacts/artifacts?path=<dir>."""
    exp_id = client.get_run(run_id).info.experiment_id
    base = f"{server_url}/api/2.0/mlflow-artifacts/artifacts"
    rel = f"{exp_id}/{run_id}/artifacts/raw/x.bin"
    r = requests.put(f"{base}/{rel}", data=b"\x00\x01\x02")
    assert r.status_code == 200, r.text
    r = requests.get(f"{base}/{rel}")
    assert r.status_code == 200 and r.content == b"\x00\x01\x02"
    r = requests.get(base, params={"path": f"{exp_id}/{run_id}/artifacts/raw"})
    assert r.status_code == 200
    assert r.json() == {"files": [{"path": "x.bin", "is_dir": False, "file_size": 3}]}
    assert {a.path for a in client.list_artifacts(run_id, "raw")} == {"raw/x.bin"}


def test_download_missing_is_404(server_url, run_id, client):
    exp_id = client.get_run(run_id).info.experiment_id
    r = requests.get(f"{server_url}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/nope.txt")
    expect_json_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("how", ["put_dotdot", "list_dotdot", "get_dotdot"])
def test_path_traversal_rejected(server_url, how):
    base = f"{server_url}/api/2.0/mlflow-artifacts/artifacts"
    if how == "put_dotdot":
        r = requests.put(f"{base}/0/%2E%2E/%2E%2E/escape.txt", data=b"x")
    elif how == "get_dotdot":
        r = requests.get(f"{base}/0/%2E%2E/%2E%2E/etc/passwd")
    else:
        r = requests.get(base, params={"path": "../.."})
    expect_json_error(r, 400, "INVALID_PARAMETER_VALUE")
