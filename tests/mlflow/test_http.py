"""Raw HTTP: JSON error shapes and status codes, bad input, and the routes
only our server has."""

import pytest
import requests

from helpers import assert_no_sql_leak, expect_json_error

API = "/api/2.0/mlflow"


@pytest.fixture
def api(server_url):
    return server_url + API


def test_health(server_url):
    r = requests.get(f"{server_url}/health")
    assert r.status_code == 200


@pytest.mark.parametrize("method, path, params, status, code", [
    ("GET", "/runs/get", {"run_id": "0" * 32}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "/experiments/get", {"experiment_id": "987654"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "/experiments/get-by-name", {"experiment_name": "no such exp"}, 404,
     "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "/registered-models/get", {"name": "no such model"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "/model-versions/get", {"name": "no such model", "version": "1"}, 404,
     "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "/runs/create", {"experiment_id": "987654"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "/runs/search", {"experiment_ids": ["0"], "page_token": "garbage"}, 400,
     "INVALID_PARAMETER_VALUE"),
    ("POST", "/runs/search", {"experiment_ids": ["0"], "filter": "metrics.m >>> 1"}, 400,
     "INVALID_PARAMETER_VALUE"),
])
def test_error_shape_and_status(api, method, path, params, status, code):
    if method == "GET":
        r = requests.get(api + path, params=params)
    else:
        r = requests.post(api + path, json=params)
    body = expect_json_error(r, status, code)
    assert_no_sql_leak(body)


@pytest.mark.parametrize("path, body, field", [
    ("/runs/log-metric", {"run_id": "0" * 32, "key": "k", "value": "abc", "timestamp": 1}, "value"),
    ("/runs/log-metric", {"run_id": "0" * 32, "key": "k", "timestamp": 1}, "value"),
    ("/experiments/create", {"name": 5}, "name"),
    ("/experiments/create", {}, "name"),
    ("/registered-models/create", {}, "name"),
])
def test_wrong_types_and_missing_fields(api, path, body, field):
    r = requests.post(api + path, json=body)
    body = expect_json_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert field in body["message"]


@pytest.mark.parametrize("path", ["/runs/log-metric", "/experiments/create"])
def test_malformed_json(api, path):
    r = requests.post(api + path, data=b"{not json", headers={"content-type": "application/json"})
    expect_json_error(r, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.ours_only  # MLflow answers 500 text/html
def test_non_object_json(api):
    r = requests.post(api + "/runs/log-metric", json=[1, 2])
    expect_json_error(r, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.ours_only  # MLflow echoes the failing SQL in the message
def test_malformed_json_message_says_what_to_fix(api):
    r = requests.post(api + "/runs/create", data=b"{not json",
                      headers={"content-type": "application/json"})
    body = expect_json_error(r, 400)
    assert "json" in body["message"].lower()
    assert_no_sql_leak(body)


@pytest.mark.ours_only  # MLflow echoes the SQL INSERT in RESOURCE_ALREADY_EXISTS messages
def test_duplicate_name_message_has_no_sql(api):
    name = "dup-no-sql"
    requests.post(api + "/experiments/create", json={"name": name})
    r = requests.post(api + "/experiments/create", json={"name": name})
    body = expect_json_error(r, 400, "RESOURCE_ALREADY_EXISTS")
    assert_no_sql_leak(body)
    assert name in body["message"]


def test_unknown_route_status(server_url):
    assert requests.get(f"{server_url}/api/2.0/mlflow/no-such-endpoint").status_code == 404
    assert requests.get(f"{server_url}/definitely/not/here").status_code == 404


@pytest.mark.ours_only  # MLflow answers an HTML 404 page
def test_unknown_route_json_404(server_url):
    for path in ("/api/2.0/mlflow/no-such-endpoint", "/definitely/not/here"):
        expect_json_error(requests.get(server_url + path), 404)


def test_wrong_method(api):
    r = requests.get(api + "/runs/create")
    assert r.status_code == 405


@pytest.mark.ours_only  # MLflow answers an HTML 405 page
def test_wrong_method_json(api):
    expect_json_error(requests.get(api + "/runs/create"), 405)


@pytest.mark.ours_only  # MLflow has no body-size limit on this route
def test_oversize_body_rejected(api):
    big = b'{"name": "' + b"x" * (64 * 1024 * 1024) + b'"}'
    r = requests.post(api + "/experiments/create", data=big,
                      headers={"content-type": "application/json"})
    assert r.status_code in (400, 413), r.status_code
    expect_json_error(r, r.status_code)


def test_ajax_api_prefix(server_url):
    """The MLflow UI and some clients use /ajax-api/2.0/mlflow/... as an alias."""
    r = requests.get(f"{server_url}/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 200
    assert r.json()["experiment"]["name"] == "Default"


def test_server_info(server_url):
    """The 3.x client asks /api/3.0/mlflow/server-info before artifact downloads;
    multipart must be off (or the endpoint absent) so it uses plain GETs."""
    r = requests.get(f"{server_url}/api/3.0/mlflow/server-info")
    if r.status_code == 200:
        info = r.json()
        assert not info.get("multipart_downloads_enabled", False)
        assert not info.get("multipart_uploads_enabled", False)
    else:
        assert r.status_code == 404


def test_response_json_shapes(api, client, name):
    """Field names and types of the main objects, as MLflow writes them."""
    exp_id = client.create_experiment(name("shape-"))
    r = requests.post(api + "/runs/create", json={"experiment_id": exp_id, "start_time": 1000,
                                                  "run_name": "shape"})
    assert r.status_code == 200
    info = r.json()["run"]["info"]
    assert info["run_id"] == info["run_uuid"]
    assert info["experiment_id"] == exp_id and isinstance(info["experiment_id"], str)
    assert info["status"] == "RUNNING" and info["lifecycle_stage"] == "active"
    assert info["start_time"] == 1000 and isinstance(info["start_time"], int)
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{info['run_id']}/artifacts"

    r = requests.post(api + "/runs/update", json={"run_id": info["run_id"], "status": "FINISHED",
                                                  "end_time": 2000})
    assert r.status_code == 200
    assert r.json()["run_info"]["end_time"] == 2000

    r = requests.get(api + "/experiments/get", params={"experiment_id": exp_id})
    exp = r.json()["experiment"]
    assert exp["experiment_id"] == exp_id and exp["lifecycle_stage"] == "active"

    r = requests.post(api + "/runs/search", json={"experiment_ids": [exp_id], "max_results": 1})
    body = r.json()
    assert [x["info"]["run_id"] for x in body["runs"]] == [info["run_id"]]
    assert "next_page_token" not in body or not body["next_page_token"]

    r = requests.post(api + "/runs/log-metric", json={"run_id": info["run_id"], "key": "m",
                                                      "value": 1.5, "timestamp": 3, "step": 2})
    assert r.status_code == 200 and r.json() == {}
