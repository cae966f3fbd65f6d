"""Model registry: registered models, model versions, stages, aliases, tags."""

import time
from pathlib import Path

import mlflow
import pytest

from helpers import expect_error


@pytest.fixture
def model_source(client, run_id, workdir):
    """A run holding a minimal MLmodel directory; returns (run_id, source URI)."""
    (workdir / "model").mkdir()
    (workdir / "model" / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (workdir / "model" / "manifest.json").write_text('{"format": 1}')
    client.log_artifacts(run_id, str(workdir / "model"), artifact_path="model")
    return run_id, f"{client.get_run(run_id).info.artifact_uri}/model"


@pytest.fixture
def model(client, name):
    return client.create_registered_model(name("model-")).name


def _versions(client, model_name, source, run_id, n):
    return [client.create_model_version(model_name, source, run_id).version for _ in range(n)]


# ---- registered models -------------------------------------------------------

def test_create_and_get_registered_model(client, name):
    model_name = name("model-")
    created = client.create_registered_model(model_name, tags={"task": "raga-id"},
                                             description="first model")
    assert created.name == model_name
    got = client.get_registered_model(model_name)
    assert got.name == model_name
    assert got.description == "first model"
    assert got.tags == {"task": "raga-id"}
    assert got.creation_timestamp > 0
    assert got.latest_versions == []
    assert got.aliases == {}


def test_update_registered_model(client, model):
    client.update_registered_model(model, description="better words")
    assert client.get_registered_model(model).description == "better words"


def test_registered_model_tags(client, model):
    client.set_registered_model_tag(model, "owner", "anu")
    client.set_registered_model_tag(model, "tmp", "1")
    client.delete_registered_model_tag(model, "tmp")
    assert client.get_registered_model(model).tags == {"owner": "anu"}


def test_delete_registered_model(client, model, model_source):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    client.delete_registered_model(model)
    expect_error(lambda: client.get_registered_model(model), "RESOURCE_DOES_NOT_EXIST")
    expect_error(lambda: client.get_model_version(model, "1"), "RESOURCE_DOES_NOT_EXIST")


def test_search_registered_models(client, name):
    prefix = name("search-")
    names = [f"{prefix}-{i}" for i in range(5)]
    for i, n in enumerate(names):
        client.create_registered_model(n, tags={"parity": "even" if i % 2 == 0 else "odd"})

    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'",
                                            order_by=["name DESC"])
    assert [m.name for m in found] == names[::-1]

    exact = client.search_registered_models(filter_string=f"name = '{names[2]}'")
    assert [m.name for m in exact] == [names[2]]

    tagged = client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-%' AND tags.parity = 'odd'")
    assert sorted(m.name for m in tagged) == [names[1], names[3]]

    seen, token = [], None
    for _ in range(5):
        page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'",
                                               order_by=["name ASC"], max_results=2,
                                               page_token=token)
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert seen == names


# ---- model versions ----------------------------------------------------------

def test_create_and_get_model_version(client, model, model_source):
    run_id, source = model_source
    mv = client.create_model_version(model, source, run_id, tags={"dataset": "v3"},
                                     description="baseline")
    assert mv.version == "1"
    assert mv.status == "READY"
    assert mv.current_stage == "None"
    assert mv.source == source
    assert mv.run_id == run_id

    got = client.get_model_version(model, "1")
    assert got.name == model
    assert got.version == "1"
    assert got.description == "baseline"
    assert got.tags == {"dataset": "v3"}
    assert got.creation_timestamp > 0

    mv2 = client.create_model_version(model, source, run_id)
    assert mv2.version == "2"
    latest = client.get_registered_model(model).latest_versions
    assert {v.version for v in latest} == {"2"}


def test_register_model_fluent(client, name, model_source):
    run_id, _ = model_source
    model_name = name("fluent-model-")
    mv = mlflow.register_model(f"runs:/{run_id}/model", model_name)
    assert (mv.name, mv.version, mv.status) == (model_name, "1", "READY")
    assert mv.source.endswith(f"{run_id}/artifacts/model")
    # Registering again into the existing model makes version 2.
    mv2 = mlflow.register_model(f"runs:/{run_id}/model", model_name)
    assert mv2.version == "2"


def test_download_model_version_artifacts(client, model, model_source, workdir):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    dst = workdir / "dl"
    dst.mkdir()
    root = mlflow.artifacts.download_artifacts(f"models:/{model}/1", dst_path=str(dst))
    # The client adds its own `registered_model_meta` file next to the download.
    names = {p.name for p in Path(root).iterdir()} - {"registered_model_meta"}
    assert names == {"MLmodel", "manifest.json"}
    uri = client.get_model_version_download_uri(model, "1")
    assert uri == source


def test_update_model_version(client, model, model_source):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    client.update_model_version(model, "1", description="tuned")
    assert client.get_model_version(model, "1").description == "tuned"


def test_model_version_tags(client, model, model_source):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    client.set_model_version_tag(model, "1", "validated", "yes")
    client.set_model_version_tag(model, "1", "tmp", "x")
    client.delete_model_version_tag(model, "1", "tmp")
    assert client.get_model_version(model, "1").tags == {"validated": "yes"}


def test_search_model_versions(client, name, model_source):
    run_id, source = model_source
    a = client.create_registered_model(name("a-")).name
    b = client.create_registered_model(name("b-")).name
    _versions(client, a, source, run_id, 3)
    _versions(client, b, source, run_id, 1)

    found = client.search_model_versions(f"name = '{a}'")
    assert sorted(int(v.version) for v in found) == [1, 2, 3]
    assert all(v.name == a for v in found)

    by_run = client.search_model_versions(f"run_id = '{run_id}'")
    assert {(v.name, v.version) for v in by_run} == {(a, "1"), (a, "2"), (a, "3"), (b, "1")}

    ordered = client.search_model_versions(f"name = '{a}'", order_by=["version_number DESC"])
    assert [v.version for v in ordered] == ["3", "2", "1"]

    seen, token = [], None
    for _ in range(5):
        page = client.search_model_versions(f"name = '{a}'", max_results=2,
                                            order_by=["version_number ASC"], page_token=token)
        seen += [v.version for v in page]
        token = page.token
        if not token:
            break
    assert seen == ["1", "2", "3"]


# ---- stages ------------------------------------------------------------------

def test_transition_stage(client, model, model_source):
    run_id, source = model_source
    _versions(client, model, source, run_id, 3)

    mv = client.transition_model_version_stage(model, "1", "Staging")
    assert mv.current_stage == "Staging"
    client.transition_model_version_stage(model, "1", "Production")
    client.transition_model_version_stage(model, "2", "Production", archive_existing_versions=False)
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{model}'")}
    assert stages == {"1": "Production", "2": "Production", "3": "None"}

    client.transition_model_version_stage(model, "3", "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{model}'")}
    assert stages == {"1": "Archived", "2": "Archived", "3": "Production"}

    latest = client.get_registered_model(model).latest_versions
    assert {(v.version, v.current_stage) for v in latest} == {("2", "Archived"), ("3", "Production")}


def test_stage_names_are_case_insensitive(client, model, model_source):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    assert client.transition_model_version_stage(model, "1", "staging").current_stage == "Staging"


def test_transition_updates_timestamp(client, model, model_source):
    run_id, source = model_source
    created = client.create_model_version(model, source, run_id)
    time.sleep(0.01)
    moved = client.transition_model_version_stage(model, "1", "Staging")
    assert moved.last_updated_timestamp > created.last_updated_timestamp


# ---- aliases -----------------------------------------------------------------

def test_aliases(client, model, model_source):
    run_id, source = model_source
    _versions(client, model, source, run_id, 2)

    client.set_registered_model_alias(model, "champion", "1")
    client.set_registered_model_alias(model, "challenger", "2")
    assert client.get_model_version_by_alias(model, "champion").version == "1"
    assert client.get_registered_model(model).aliases == {"champion": "1", "challenger": "2"}
    assert client.get_model_version(model, "2").aliases == ["challenger"]

    # Re-pointing an alias moves it.
    client.set_registered_model_alias(model, "champion", "2")
    assert client.get_model_version_by_alias(model, "champion").version == "2"
    assert sorted(client.get_model_version(model, "2").aliases) == ["challenger", "champion"]
    assert client.get_model_version(model, "1").aliases == []

    client.delete_registered_model_alias(model, "challenger")
    assert client.get_registered_model(model).aliases == {"champion": "2"}
    expect_error(lambda: client.get_model_version_by_alias(model, "challenger"),
                 "INVALID_PARAMETER_VALUE")


def test_models_uri_with_alias(client, model, model_source, workdir):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    client.set_registered_model_alias(model, "prod", "1")
    text = mlflow.artifacts.load_text(f"models:/{model}@prod/manifest.json")
    assert text == '{"format": 1}'


# ---- errors ------------------------------------------------------------------

@pytest.mark.parametrize("case, code", [
    ("get_unknown_model", "RESOURCE_DOES_NOT_EXIST"),
    ("duplicate_model", "RESOURCE_ALREADY_EXISTS"),
    ("get_unknown_version", "RESOURCE_DOES_NOT_EXIST"),
    ("version_of_unknown_model", "RESOURCE_DOES_NOT_EXIST"),
    ("bad_stage", "INVALID_PARAMETER_VALUE"),
    ("alias_to_unknown_version", "RESOURCE_DOES_NOT_EXIST"),
    ("unknown_alias", "INVALID_PARAMETER_VALUE"),
    ("delete_unknown_model", "RESOURCE_DOES_NOT_EXIST"),
    ("update_unknown_model", "RESOURCE_DOES_NOT_EXIST"),
    ("bad_model_search_filter", "INVALID_PARAMETER_VALUE"),
])
def test_errors(client, model, model_source, case, code):
    run_id, source = model_source
    client.create_model_version(model, source, run_id)
    calls = {
        "get_unknown_model": lambda: client.get_registered_model(model + "-nope"),
        "duplicate_model": lambda: client.create_registered_model(model),
        "get_unknown_version": lambda: client.get_model_version(model, "99"),
        "version_of_unknown_model": lambda: client.create_model_version(model + "-nope", source, run_id),
        "bad_stage": lambda: client.transition_model_version_stage(model, "1", "Bogus"),
        "alias_to_unknown_version": lambda: client.set_registered_model_alias(model, "x", "99"),
        "unknown_alias": lambda: client.get_model_version_by_alias(model, "nobody"),
        "delete_unknown_model": lambda: client.delete_registered_model(model + "-nope"),
        "update_unknown_model": lambda: client.update_registered_model(model + "-nope", "d"),
        "bad_model_search_filter": lambda: client.search_registered_models("name ~~ 'x'"),
    }
    expect_error(calls[case], code)
