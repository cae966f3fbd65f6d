"""Runs: create, get, update/end, delete, restore, search (filter, order_by, paging)."""

import time
import uuid

import mlflow
from mlflow import MlflowClient
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType

from helpers import expect_error


def test_create_and_get(client, experiment_id):
    start = int(time.time() * 1000)
    run = client.create_run(experiment_id, start_time=start, run_name="first",
                            tags={"team": "audio"})
    info = run.info
    assert len(info.run_id) == 32 and all(c in "0123456789abcdef" for c in info.run_id)
    assert info.experiment_id == experiment_id
    assert info.run_name == "first"
    assert info.status == "RUNNING"
    assert info.lifecycle_stage == "active"
    assert info.start_time == start
    assert info.end_time is None
    assert info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{info.run_id}/artifacts"

    got = client.get_run(info.run_id)
    assert got.info.run_id == info.run_id
    assert got.info.run_name == "first"
    assert got.data.tags["team"] == "audio"
    assert got.data.tags["mlflow.runName"] == "first"
    assert got.data.metrics == {} and got.data.params == {}


def test_generated_run_name(client, experiment_id):
    run = client.create_run(experiment_id)
    assert run.info.run_name
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == run.info.run_name


def test_update_and_terminate(client, run_id):
    client.update_run(run_id, name="renamed")
    got = client.get_run(run_id)
    assert got.info.run_name == "renamed"
    assert got.data.tags["mlflow.runName"] == "renamed"

    end = int(time.time() * 1000) + 5
    client.set_terminated(run_id, status="FAILED", end_time=end)
    info = client.get_run(run_id).info
    assert info.status == "FAILED"
    assert info.end_time == end


def test_every_write_sees_the_latest_lifecycle(client, experiment_id, run_id):
    """Logging checks the run is active on every call. Each step is repeated so that, behind
    the round-robin balancer of `--replicas 2`, both server processes log to the run first and
    then both must notice the other's delete, restore and experiment delete."""
    from helpers import expect_error
    for step in range(2):
        client.log_metric(run_id, "m", 1.0, step=step)
    client.delete_run(run_id)
    for _ in range(2):
        expect_error(lambda: client.log_metric(run_id, "m", 2.0), "INVALID_PARAMETER_VALUE")
    client.restore_run(run_id)
    for step in range(2, 4):
        client.log_metric(run_id, "m", 3.0, step=step)
    client.delete_experiment(experiment_id)
    for _ in range(2):
        expect_error(lambda: client.log_param(run_id, "p", "v"), "INVALID_PARAMETER_VALUE")
    assert [m.step for m in client.get_metric_history(run_id, "m")] == [0, 1, 2, 3]


def test_delete_and_restore(client, experiment_id, run_id):
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    assert [r.info.run_id for r in
            client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)] == [run_id]
    assert len(client.search_runs([experiment_id], run_view_type=ViewType.ALL)) == 1

    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]


def test_fluent_run_lifecycle(server_url, name):
    mlflow.set_experiment(name("fluent-"))
    with mlflow.start_run(run_name="fluent") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"loss": 0.25, "acc": 0.9}, step=2)
        mlflow.set_tag("raga", "yaman")
        mlflow.set_tags({"tonic": "C#"})
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time >= got.info.start_time
    assert got.data.params == {"lr": "0.01"}
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9}
    assert got.data.tags["raga"] == "yaman" and got.data.tags["tonic"] == "C#"


def test_fluent_run_in_default_experiment(server_url):
    mlflow.set_experiment(experiment_id="0")
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "0"
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"


def test_fluent_failed_run(server_url, name):
    mlflow.set_experiment(name("fluent-"))
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


# Six runs with known values; each filter below selects a known subset.
RUNS = [
    # name, acc, opt, team, status
    ("r0", 0.10, "sgd", "a", "FINISHED"),
    ("r1", 0.50, "adam", "b", "FINISHED"),
    ("r2", 0.90, "adam", "a", "FAILED"),
    ("r3", 0.70, "sgd", "b", "FINISHED"),
    ("r4", 0.30, "adam", "a", "RUNNING"),
    ("r5", 0.95, "lion", "b", "FINISHED"),
]


@pytest.fixture(scope="module")
def populated(server_url):
    """Read-only: built once per module, so tests using it must not change it."""
    client = MlflowClient(tracking_uri=server_url)
    experiment_id = client.create_experiment(f"populated-{uuid.uuid4().hex}")
    ids = {}
    for i, (run_name, acc, opt, team, status) in enumerate(RUNS):
        run = client.create_run(experiment_id, start_time=1_700_000_000_000 + i * 1000,
                                run_name=run_name)
        rid = run.info.run_id
        client.log_batch(rid, metrics=[Metric("acc", acc, 0, 0)],
                         params=[Param("opt", opt)], tags=[RunTag("team", team)])
        if status != "RUNNING":
            client.set_terminated(rid, status=status)
        ids[run_name] = rid
    return experiment_id, ids


@pytest.mark.parametrize("filter_string, expected", [
    ("", {"r0", "r1", "r2", "r3", "r4", "r5"}),
    ("metrics.acc > 0.5", {"r2", "r3", "r5"}),
    ("metrics.acc <= 0.5", {"r0", "r1", "r4"}),
    ("params.opt = 'adam'", {"r1", "r2", "r4"}),
    ("params.opt != 'adam'", {"r0", "r3", "r5"}),
    ("tags.team = 'a'", {"r0", "r2", "r4"}),
    ("attributes.status = 'FINISHED'", {"r0", "r1", "r3", "r5"}),
    ("attributes.run_name = 'r3'", {"r3"}),
    ("metrics.acc >= 0.5 and params.opt = 'adam'", {"r1", "r2"}),
    ("params.opt LIKE 'ad%' and tags.team = 'a'", {"r2", "r4"}),
])
def test_search_filter(client, populated, filter_string, expected):
    experiment_id, ids = populated
    names = {v: k for k, v in ids.items()}
    runs = client.search_runs([experiment_id], filter_string=filter_string)
    assert {names[r.info.run_id] for r in runs} == expected


@pytest.mark.parametrize("order_by, expected", [
    (["metrics.acc DESC"], ["r5", "r2", "r3", "r1", "r4", "r0"]),
    (["metrics.acc ASC"], ["r0", "r4", "r1", "r3", "r2", "r5"]),
    (["params.opt ASC", "metrics.acc DESC"], ["r2", "r1", "r4", "r5", "r3", "r0"]),
    (["attributes.start_time ASC"], ["r0", "r1", "r2", "r3", "r4", "r5"]),
    # Default order: start_time DESC.
    ([], ["r5", "r4", "r3", "r2", "r1", "r0"]),
])
def test_search_order_by(client, populated, order_by, expected):
    experiment_id, ids = populated
    names = {v: k for k, v in ids.items()}
    runs = client.search_runs([experiment_id], order_by=order_by)
    assert [names[r.info.run_id] for r in runs] == expected


@pytest.mark.parametrize("page_size", [4, 3])
def test_search_paging(client, populated, page_size):
    """No token on the last page, even when it is exactly full (6 runs, pages of 3)."""
    experiment_id, ids = populated
    names = {v: k for k, v in ids.items()}
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([experiment_id], order_by=["metrics.acc DESC"],
                                  max_results=page_size, page_token=token)
        seen += [names[r.info.run_id] for r in page]
        pages += 1
        token = page.token
        if not token:
            break
        assert pages < 10, "page token never ends"
    assert pages == 2
    assert seen == ["r5", "r2", "r3", "r1", "r4", "r0"]


def test_search_returns_run_data(client, populated):
    experiment_id, ids = populated
    [run] = client.search_runs([experiment_id], filter_string="attributes.run_name = 'r1'")
    assert run.data.metrics == {"acc": 0.5}
    assert run.data.params == {"opt": "adam"}
    assert run.data.tags["team"] == "b"
    assert run.info.status == "FINISHED"


def test_fluent_search_runs_dataframe(server_url, populated):
    experiment_id, ids = populated
    df = mlflow.search_runs([experiment_id], filter_string="metrics.acc > 0.6",
                            order_by=["metrics.acc DESC"])
    assert list(df["run_id"]) == [ids["r5"], ids["r2"], ids["r3"]]
    assert list(df["params.opt"]) == ["lion", "adam", "sgd"]


def test_search_across_experiments(client, name):
    a = client.create_experiment(name("a-"))
    b = client.create_experiment(name("b-"))
    ra = client.create_run(a).info.run_id
    rb = client.create_run(b).info.run_id
    assert {r.info.run_id for r in client.search_runs([a, b])} == {ra, rb}


@pytest.mark.parametrize("case, code", [
    ("get_unknown", "RESOURCE_DOES_NOT_EXIST"),
    ("create_in_unknown_experiment", "RESOURCE_DOES_NOT_EXIST"),
    ("bad_filter", "INVALID_PARAMETER_VALUE"),
    ("bad_order_by", "INVALID_PARAMETER_VALUE"),
    ("bad_page_token", "INVALID_PARAMETER_VALUE"),
    ("too_many_results", "INVALID_PARAMETER_VALUE"),
    ("delete_unknown", "RESOURCE_DOES_NOT_EXIST"),
])
def test_errors(client, experiment_id, case, code):
    calls = {
        "get_unknown": lambda: client.get_run("0" * 32),
        "create_in_unknown_experiment": lambda: client.create_run("987654321"),
        "bad_filter": lambda: client.search_runs([experiment_id], "metrics.acc >>> 1"),
        "bad_order_by": lambda: client.search_runs([experiment_id], order_by=["metrics.acc SIDEWAYS"]),
        "bad_page_token": lambda: client.search_runs([experiment_id], page_token="garbage"),
        "too_many_results": lambda: client.search_runs([experiment_id], max_results=50001),
        "delete_unknown": lambda: client.delete_run("f" * 32),
    }
    expect_error(calls[case], code)


def test_status_values(client, run_id):
    for status in ("SCHEDULED", "KILLED", "FINISHED"):
        client.update_run(run_id, status=status)
        assert client.get_run(run_id).info.status == status
