"""Params, metrics (single, batch, history, NaN/±Inf), tags."""

import math
import sys

import pytest
import requests
from mlflow.entities import Metric, Param, RunTag

from helpers import expect_error


def test_params(client, run_id):
    client.log_param(run_id, "lr", 0.001)
    client.log_param(run_id, "layers", 4)
    client.log_param(run_id, "note", "ünïcode ✓")
    assert client.get_run(run_id).data.params == {
        "lr": "0.001", "layers": "4", "note": "ünïcode ✓"}


def test_param_relog_same_value_is_ok(client, run_id):
    client.log_param(run_id, "seed", 7)
    client.log_param(run_id, "seed", 7)
    assert client.get_run(run_id).data.params["seed"] == "7"


def test_param_change_is_rejected(client, run_id):
    client.log_param(run_id, "seed", 7)
    expect_error(lambda: client.log_param(run_id, "seed", 8), "INVALID_PARAMETER_VALUE")
    assert client.get_run(run_id).data.params["seed"] == "7"


def test_single_metric_and_latest_value(client, run_id):
    client.log_metric(run_id, "loss", 1.0, timestamp=1000, step=0)
    client.log_metric(run_id, "loss", 0.5, timestamp=2000, step=1)
    client.log_metric(run_id, "loss", 0.75, timestamp=1500, step=1)
    # The run shows the value at the highest step, then latest timestamp.
    assert client.get_run(run_id).data.metrics == {"loss": 0.5}
    history = client.get_metric_history(run_id, "loss")
    assert sorted((m.step, m.timestamp, m.value) for m in history) == [
        (0, 1000, 1.0), (1, 1500, 0.75), (1, 2000, 0.5)]
    assert all(m.key == "loss" for m in history)


def test_batch_of_1000_metrics_and_history(client, run_id):
    metrics = [Metric("curve", i * 0.5, 1_700_000_000_000 + i, i) for i in range(1000)]
    client.log_batch(run_id, metrics=metrics)
    history = client.get_metric_history(run_id, "curve")
    assert len(history) == 1000
    assert sorted((m.step, m.value) for m in history) == [(i, i * 0.5) for i in range(1000)]
    assert client.get_run(run_id).data.metrics["curve"] == 999 * 0.5


def test_batch_mixed(client, run_id):
    client.log_batch(
        run_id,
        metrics=[Metric("a", 1.0, 1, 0), Metric("b", 2.0, 1, 0)],
        params=[Param("p1", "x"), Param("p2", "y")],
        tags=[RunTag("t1", "u"), RunTag("t2", "v")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"a": 1.0, "b": 2.0}
    assert data.params == {"p1": "x", "p2": "y"}
    assert data.tags["t1"] == "u" and data.tags["t2"] == "v"


def test_history_of_unknown_metric_is_empty(client, run_id):
    assert client.get_metric_history(run_id, "never-logged") == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 0.0, -1e-300, 1e300])
def test_special_float_round_trip(client, run_id, value):
    client.log_metric(run_id, "m", value, timestamp=1, step=0)
    [hist] = client.get_metric_history(run_id, "m")
    latest = client.get_run(run_id).data.metrics["m"]
    for got in (hist.value, latest):
        if math.isnan(value):
            assert math.isnan(got)
        elif math.isinf(value):
            # MLflow's SQL store clamps ±Inf to ±sys.float_info.max; keeping the
            # infinity is also accepted.
            assert got in (value, math.copysign(sys.float_info.max, value))
        else:
            assert got == value


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_special_float_json_encoding(server_url, run_id, value):
    """Wire format: non-finite doubles travel as the strings "NaN", "Infinity", "-Infinity"."""
    api = f"{server_url}/api/2.0/mlflow"
    r = requests.post(f"{api}/runs/log-metric", json={
        "run_id": run_id, "key": "w", "value": value, "timestamp": 5, "step": 0})
    assert r.status_code == 200, r.text
    assert r.json() == {}
    r = requests.get(f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "w"})
    assert r.status_code == 200
    [m] = r.json()["metrics"]
    if value == "NaN":
        assert m["value"] == "NaN"
    else:
        # MLflow clamps to ±1.7976931348623157e+308; "Infinity" also accepted.
        assert m["value"] in (value, float(value.replace("Infinity", "1.7976931348623157e+308")))
    assert (m["key"], m["timestamp"], m["step"]) == ("w", 5, 0)


def test_tags_set_and_delete(client, run_id):
    client.set_tag(run_id, "raga", "bhairav")
    client.set_tag(run_id, "raga", "yaman")  # tags are mutable
    client.set_tag(run_id, "gone", "soon")
    client.delete_tag(run_id, "gone")
    tags = client.get_run(run_id).data.tags
    assert tags["raga"] == "yaman"
    assert "gone" not in tags


@pytest.mark.parametrize("case, code", [
    ("metric_unknown_run", "RESOURCE_DOES_NOT_EXIST"),
    ("param_unknown_run", "RESOURCE_DOES_NOT_EXIST"),
    ("tag_unknown_run", "RESOURCE_DOES_NOT_EXIST"),
    ("delete_missing_tag", "RESOURCE_DOES_NOT_EXIST"),
    ("log_to_deleted_run", "INVALID_PARAMETER_VALUE"),
])
def test_errors(client, run_id, case, code):
    unknown = "e" * 32
    calls = {
        "metric_unknown_run": lambda: client.log_metric(unknown, "m", 1.0),
        "param_unknown_run": lambda: client.log_param(unknown, "p", "v"),
        "tag_unknown_run": lambda: client.set_tag(unknown, "t", "v"),
        "delete_missing_tag": lambda: client.delete_tag(run_id, "no-such-tag"),
    }
    if case == "log_to_deleted_run":
        client.delete_run(run_id)
        calls[case] = lambda: client.log_metric(run_id, "m", 1.0)
    expect_error(calls[case], code)


def test_batch_over_limit_rejected(server_url, run_id):
    """The client splits big batches itself; the server must refuse > 1000 metrics."""
    metrics = [{"key": "x", "value": 1.0, "timestamp": 1, "step": i} for i in range(1001)]
    r = requests.post(f"{server_url}/api/2.0/mlflow/runs/log-batch",
                      json={"run_id": run_id, "metrics": metrics})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
