"""Token auth with the official client: `MLFLOW_TRACKING_TOKEN` carries a token with scopes,
no token or a weak one is refused with a clear error, and the audit log names who did what.

The server here is our own, started with `--auth on` on a store whose first admin token was
created while it listened on loopback with auth off (the documented bootstrap)."""

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from conftest import _start_ours, _stop

pytestmark = pytest.mark.ours_only


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """(url, admin token) of a server with auth on."""
    store = tmp_path_factory.mktemp("auth-store")
    proc, url = _start_ours(store, store / "bootstrap.log")
    try:
        r = requests.post(f"{url}/v1/tokens", json={"name": "admin", "scopes": ["admin"]}, timeout=10)
        assert r.status_code == 200, r.text
        admin = r.json()["token"]
    finally:
        _stop(proc)
    proc, url = _start_ours(store, store / "server.log", ("--auth", "on"))
    yield url, admin
    _stop(proc)


def make_token(url: str, admin: str, name: str, scopes: list[str]) -> str:
    r = requests.post(f"{url}/v1/tokens", headers=bearer(admin), json={"name": name, "scopes": scopes}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_tracking_token_from_the_environment(secured, monkeypatch, name, workdir):
    url, admin = secured
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", make_token(url, admin, "ci-trainer", ["write"]))
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    exp = client.create_experiment(name("exp-"))
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "val_accuracy", 0.91, step=3)
    (workdir / "notes.txt").write_text("hello")
    client.log_artifact(run.info.run_id, str(workdir / "notes.txt"))
    client.set_terminated(run.info.run_id)
    model = name("model-")
    client.create_registered_model(model)
    version = client.create_model_version(model, f"{run.info.artifact_uri}/notes.txt", run.info.run_id)
    client.transition_model_version_stage(model, version.version, "Staging")

    assert client.get_metric_history(run.info.run_id, "val_accuracy")[0].value == 0.91
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
    # The stage history names the token, whatever user header the client sent.
    history = requests.get(f"{url}/api/2.0/ragasense/registered-models/history", params={"name": model},
                           headers=bearer(admin), timeout=10).json()
    assert {e["actor"] for e in history["history"]} == {"ci-trainer"}

    # Deleting needs the admin scope.
    with pytest.raises(MlflowException) as refused:
        client.delete_run(run.info.run_id)
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "admin" in refused.value.message

    audit = requests.get(f"{url}/v1/audit", params={"actor": "ci-trainer", "max_results": 1000},
                         headers=bearer(admin), timeout=10).json()["events"]
    routes = [(e["method"], e["route"], e["status"]) for e in audit]
    assert ("POST", "/api/2.0/mlflow/runs/log-metric", 200) in routes
    assert ("POST", "/api/2.0/mlflow/runs/delete", 403) in routes
    stage = next(e for e in audit if e["route"].endswith("/model-versions/transition-stage"))
    assert stage["details"]["name"] == model and stage["details"]["stage"] == "Staging"
    assert any(e["method"] == "PUT" and e["path"].endswith("/notes.txt") for e in audit)


def test_no_token_or_a_weak_one_is_refused(secured, monkeypatch, name):
    url, admin = secured
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    client = MlflowClient(tracking_uri=url)
    with pytest.raises(RestException) as missing:
        client.search_experiments()
    assert missing.value.error_code == "UNAUTHENTICATED"
    assert "MLFLOW_TRACKING_TOKEN" in missing.value.message

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "rsk_000000000000_forged")
    with pytest.raises(RestException) as forged:
        client.search_experiments()
    assert forged.value.error_code == "UNAUTHENTICATED"

    reader = make_token(url, admin, "dashboard-viewer", ["read"])
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reader)
    client.search_experiments()  # reads are fine
    with pytest.raises(RestException) as weak:
        client.create_experiment(name("exp-"))
    assert weak.value.error_code == "PERMISSION_DENIED"
    assert "write" in weak.value.message

    # Revoked: refused from the next request on.
    tokens = requests.get(f"{url}/v1/tokens", headers=bearer(admin), timeout=10).json()["tokens"]
    viewer = next(t for t in tokens if t["name"] == "dashboard-viewer")
    assert "token" not in viewer and viewer["scopes"] == ["read"]
    assert requests.delete(f"{url}/v1/tokens/{viewer['id']}", headers=bearer(admin), timeout=10).status_code == 200
    with pytest.raises(RestException) as revoked:
        client.search_experiments()
    assert revoked.value.error_code == "UNAUTHENTICATED"
