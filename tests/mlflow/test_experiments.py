"""Experiments: create, get, get-by-name, search (filter, order, paging)."""

import pytest
from helpers import expect_error


def test_create_and_get(client, name):
    exp_name = name("exp-")
    exp_id = client.create_experiment(exp_name, tags={"team": "audio"})
    assert isinstance(exp_id, str) and exp_id

    exp = client.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == exp_name
    assert exp.lifecycle_stage == "active"
    assert exp.tags["team"] == "audio"
    assert exp.artifact_location.startswith("mlflow-artifacts:/")
    assert exp.creation_time > 0


def test_get_by_name(client, name):
    exp_name = name("exp-")
    exp_id = client.create_experiment(exp_name)
    assert client.get_experiment_by_name(exp_name).experiment_id == exp_id
    # The client maps 404 RESOURCE_DOES_NOT_EXIST to None.
    assert client.get_experiment_by_name(name("missing-")) is None


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_search_filter_order_and_paging(client, name):
    prefix = name("search-")
    ids = [client.create_experiment(f"{prefix}-{i}") for i in range(5)]

    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'",
                                      order_by=["name DESC"])
    assert [e.experiment_id for e in found] == ids[::-1]

    exact = client.search_experiments(filter_string=f"name = '{prefix}-3'")
    assert [e.experiment_id for e in exact] == [ids[3]]

    page1 = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'",
                                      order_by=["name ASC"], max_results=2)
    assert [e.experiment_id for e in page1] == ids[:2]
    assert page1.token
    page2 = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'",
                                      order_by=["name ASC"], max_results=2,
                                      page_token=page1.token)
    assert [e.experiment_id for e in page2] == ids[2:4]
    page3 = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'",
                                      order_by=["name ASC"], max_results=2,
                                      page_token=page2.token)
    assert [e.experiment_id for e in page3] == ids[4:]
    assert not page3.token


def test_search_by_tag(client, name):
    tag = name("tag-")
    wanted = client.create_experiment(name("exp-"), tags={"group": tag})
    client.create_experiment(name("exp-"), tags={"group": "other"})
    found = client.search_experiments(filter_string=f"tags.group = '{tag}'")
    assert [e.experiment_id for e in found] == [wanted]


@pytest.mark.parametrize("case", ["unknown_id", "duplicate_name", "empty_name"])
def test_errors(client, name, case):
    if case == "unknown_id":
        expect_error(lambda: client.get_experiment("987654321"), "RESOURCE_DOES_NOT_EXIST")
    elif case == "duplicate_name":
        exp_name = name("dup-")
        client.create_experiment(exp_name)
        expect_error(lambda: client.create_experiment(exp_name), "RESOURCE_ALREADY_EXISTS")
    elif case == "empty_name":
        expect_error(lambda: client.create_experiment(""), "INVALID_PARAMETER_VALUE")
