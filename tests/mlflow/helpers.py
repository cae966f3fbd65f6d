"""Shared assertions for the MLflow acceptance suite."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException, RestException


def expect_error(call, error_code: str) -> MlflowException:
    """Runs `call()` and asserts it raises an MlflowException with `error_code`."""
    with pytest.raises(MlflowException) as info:
        call()
    assert info.value.error_code == error_code, (
        f"expected {error_code}, got {info.value.error_code}: {info.value.message}")
    return info.value


def expect_json_error(resp, status: int, error_code: str | None = None) -> dict:
    """Asserts an HTTP response is an MLflow-style JSON error."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body.get("error_code"), str), body
    assert isinstance(body.get("message"), str) and body["message"], body
    if error_code is not None:
        assert body["error_code"] == error_code, body
    return body


def assert_no_sql_leak(body: dict) -> None:
    text = body.get("message", "")
    for leak in ("SELECT ", "INSERT ", "sqlite", "[SQL:", "Traceback", "panicked"):
        assert leak not in text, f"error message leaks internals: {text!r}"


__all__ = ["expect_error", "expect_json_error", "assert_no_sql_leak", "RestException"]
