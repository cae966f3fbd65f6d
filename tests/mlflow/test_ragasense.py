"""Routes only our server has: registry history and rollback, browser
publication under /v1/models, and /openapi.json (all skipped against MLflow)."""

import gzip
import hashlib
import json

import pytest
import requests

from helpers import expect_json_error

pytestmark = pytest.mark.ours_only

HISTORY = "/api/2.0/ragasense/registered-models/history"
ROLLBACK = "/api/2.0/ragasense/registered-models/rollback"

WEIGHTS = bytes(range(256)) * 64          # 16 KiB
CONFIG = json.dumps({"labels": ["yaman"] * 500}).encode()   # compressible


@pytest.fixture
def package(client, run_id, workdir):
    """A run holding a model package (manifest + files); returns (run_id, source)."""
    pkg = workdir / "pkg"
    pkg.mkdir()
    (pkg / "weights.bin").write_bytes(WEIGHTS)
    (pkg / "config.json").write_bytes(CONFIG)
    (pkg / "MLmodel").write_text("flavors: {}\n")
    manifest = {"format": 1, "files": [
        {"path": "weights.bin", "sha256": hashlib.sha256(WEIGHTS).hexdigest(), "size": len(WEIGHTS)},
        {"path": "config.json", "sha256": hashlib.sha256(CONFIG).hexdigest(), "size": len(CONFIG)},
    ]}
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    client.log_artifacts(run_id, str(pkg), artifact_path="package")
    return run_id, f"{client.get_run(run_id).info.artifact_uri}/package"


@pytest.fixture
def published(client, name, package):
    """A model with versions 1 and 2 of the package; v2 in Production, alias @live -> 1."""
    run_id, source = package
    model = client.create_registered_model(name("pub-")).name
    client.create_model_version(model, source, run_id)
    client.create_model_version(model, source, run_id)
    client.transition_model_version_stage(model, "2", "Production")
    client.set_registered_model_alias(model, "live", "1")
    return model


# ---- history and rollback ----------------------------------------------------

def test_history_records_stage_and_alias_changes(server_url, client, model_source_versions):
    model = model_source_versions
    client.transition_model_version_stage(model, "1", "Staging")
    client.transition_model_version_stage(model, "1", "Production")
    client.set_registered_model_alias(model, "champ", "1")
    client.set_registered_model_alias(model, "champ", "2")
    client.delete_registered_model_alias(model, "champ")

    r = requests.get(server_url + HISTORY, params={"name": model})
    assert r.status_code == 200, r.text
    entries = r.json()["history"]
    # Newest first; (kind, version for stage moves, alias, from, to).
    got = [(e["kind"], e.get("version") if e["kind"] == "stage" else None,
            e.get("alias"), e.get("from"), e.get("to")) for e in entries]
    assert got == [
        ("alias", None, "champ", "2", None),
        ("alias", None, "champ", "1", "2"),
        ("alias", None, "champ", None, "1"),
        ("stage", "1", None, "Staging", "Production"),
        ("stage", "1", None, "None", "Staging"),
    ]
    assert all(e["timestamp"] > 0 and e["actor"] for e in entries)
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)


def test_history_keeps_who(server_url, client, model_source_versions):
    model = model_source_versions
    r = requests.post(f"{server_url}/api/2.0/mlflow/model-versions/transition-stage",
                      json={"name": model, "version": "1", "stage": "Staging",
                            "archive_existing_versions": False},
                      headers={"X-Ragasense-User": "anu"})
    assert r.status_code == 200, r.text
    [entry] = requests.get(server_url + HISTORY, params={"name": model}).json()["history"]
    assert entry["actor"] == "anu"


def test_rollback_restores_previous_production(server_url, client, model_source_versions):
    model = model_source_versions
    client.transition_model_version_stage(model, "1", "Production", archive_existing_versions=True)
    client.transition_model_version_stage(model, "2", "Production", archive_existing_versions=True)
    r = requests.post(server_url + ROLLBACK, json={"name": model})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"]["version"] == "1"
    assert body["model_version"]["current_stage"] == "Production"
    assert body["previous_version"] == "2"
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{model}'")}
    assert stages == {"1": "Production", "2": "Archived"}
    [latest, *_] = requests.get(server_url + HISTORY, params={"name": model}).json()["history"]
    assert (latest["kind"], latest["version"], latest["to"]) == ("stage", "1", "Production")


def test_rollback_without_earlier_production_is_an_error(server_url, client, model_source_versions):
    model = model_source_versions
    client.transition_model_version_stage(model, "1", "Production")
    r = requests.post(server_url + ROLLBACK, json={"name": model})
    body = expect_json_error(r, 400)
    assert "roll back" in body["message"]


@pytest.mark.parametrize("call", ["history", "rollback"])
def test_history_and_rollback_unknown_model(server_url, call):
    if call == "history":
        r = requests.get(server_url + HISTORY, params={"name": "no-such-model"})
    else:
        r = requests.post(server_url + ROLLBACK, json={"name": "no-such-model"})
    expect_json_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.fixture
def model_source_versions(client, name, package):
    run_id, source = package
    model = client.create_registered_model(name("hist-")).name
    client.create_model_version(model, source, run_id)
    client.create_model_version(model, source, run_id)
    return model


# ---- publication --------------------------------------------------------------

@pytest.mark.parametrize("selector, version", [("1", "1"), ("2", "2"), ("Production", "2"),
                                               ("production", "2"), ("@live", "1")])
def test_manifest_by_version_stage_alias(server_url, published, selector, version):
    r = requests.get(f"{server_url}/v1/models/{published}/{selector}/manifest.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("x-model-version") == version
    doc = r.json()
    assert doc["format"] == 1
    urls = {f["path"]: f["url"] for f in doc["files"]}
    assert urls == {"weights.bin": f"/v1/blobs/sha256/{hashlib.sha256(WEIGHTS).hexdigest()}",
                    "config.json": f"/v1/blobs/sha256/{hashlib.sha256(CONFIG).hexdigest()}"}


def test_manifest_etag_and_304(server_url, published):
    url = f"{server_url}/v1/models/{published}/1/manifest.json"
    r = requests.get(url)
    etag = r.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/"), etag  # strong
    again = requests.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_blob_is_immutable_and_supports_range(server_url, published):
    doc = requests.get(f"{server_url}/v1/models/{published}/1/manifest.json").json()
    url = server_url + next(f["url"] for f in doc["files"] if f["path"] == "weights.bin")
    # Uncompressed, so that Accept-Ranges applies (a compressing layer drops it).
    r = requests.get(url, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.content == WEIGHTS
    assert "immutable" in r.headers["cache-control"]
    assert r.headers["etag"].strip('"') == hashlib.sha256(WEIGHTS).hexdigest()
    assert r.headers.get("accept-ranges") == "bytes"
    assert int(r.headers["content-length"]) == len(WEIGHTS)

    part = requests.get(url, headers={"Range": "bytes=256-511"})
    assert part.status_code == 206
    assert part.content == WEIGHTS[256:512]
    assert part.headers["content-range"] == f"bytes 256-511/{len(WEIGHTS)}"

    bad = requests.get(url, headers={"Range": f"bytes={len(WEIGHTS) + 10}-"})
    assert bad.status_code == 416


def test_package_file_and_compression(server_url, published):
    url = f"{server_url}/v1/models/{published}/Production/files/config.json"
    r = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.status_code == 200
    assert r.headers.get("content-encoding") == "gzip"
    raw = r.raw.read()
    assert gzip.decompress(raw) == CONFIG
    r = requests.get(url, headers={"Accept-Encoding": "br"})
    assert r.headers.get("content-encoding") == "br"


def test_cors_on_publication(server_url, published):
    url = f"{server_url}/v1/models/{published}/1/manifest.json"
    r = requests.get(url, headers={"Origin": "https://app.example"})
    assert r.headers.get("access-control-allow-origin") in ("*", "https://app.example")
    pre = requests.options(url, headers={"Origin": "https://app.example",
                                         "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "range"})
    assert pre.status_code in (200, 204)
    assert "GET" in pre.headers.get("access-control-allow-methods", "")


@pytest.mark.parametrize("path, status", [
    ("/v1/models/no-such-model/1/manifest.json", 404),
    ("/v1/models/{m}/99/manifest.json", 404),
    ("/v1/models/{m}/@nobody/manifest.json", 404),
    ("/v1/models/{m}/Staging/manifest.json", 404),
    ("/v1/models/{m}/not-a-selector/manifest.json", 400),
    ("/v1/blobs/sha256/" + "0" * 64, 404),
    ("/v1/blobs/sha256/xyz", 400),
    ("/v1/models/{m}/1/files/%2E%2E/%2E%2E/secret", 400),
])
def test_publication_errors(server_url, published, path, status):
    r = requests.get(server_url + path.format(m=published))
    expect_json_error(r, status)


def test_openapi(server_url):
    r = requests.get(f"{server_url}/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/2.0/mlflow/runs/log-metric", "/api/2.0/mlflow/registered-models/alias",
                 "/api/2.0/mlflow-artifacts/artifacts/{path}", HISTORY, ROLLBACK,
                 "/v1/models/{name}/{selector}/manifest.json"):
        assert any(p == path or p.replace("{*path}", "{path}") == path for p in doc["paths"]), path
