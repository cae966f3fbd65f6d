"""A real `ragasense train --tracking-uri` run, read back through the official mlflow
client: the run, its params and tags, metric history, artifacts (the packages among them),
the registered version in Production, and the browser URL serving it.

Env: RAGASENSE_BIN  the `ragasense` binary (default: $CARGO_TARGET_DIR or <repo>/target,
     then debug/ragasense — `cargo test --workspace` builds it)."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.ours_only

REPO = Path(__file__).resolve().parents[2]


def _ragasense() -> Path:
    if env := os.environ.get("RAGASENSE_BIN"):
        return Path(env)
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "ragasense"


def _run(*args) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert done.returncode == 0, f"ragasense {args[1]} failed:\n{done.stderr}"
    return done.stdout


def test_a_tracked_training_run_reads_back_through_the_official_client(client, server_url, tmp_path):
    bin_ = _ragasense()
    assert bin_.exists(), f"{bin_} is missing: build it with `cargo build -p raga-cli`"
    data = tmp_path / "corpus"
    for split, n in [("train", "2"), ("val", "1"), ("test", "1")]:
        _run(bin_, "synth", "--out", data, "--per-raga", n, "--seconds", "4", "--seed", "3",
             "--split", split, "--ragas", "yaman,mohanam,malkauns")
    name = f"raga-detector-{uuid.uuid4().hex[:8]}"
    out = _run(bin_, "train", "--data", data, "--profile", "tiny", "--device", "flex", "--epochs", "2",
               "--out", tmp_path / "run", "--tracking-uri", server_url, "--model-name", name,
               "--promote", "production", "--min-accuracy", "0")
    assert "serves it" in out, out

    exp = client.get_experiment_by_name(f"RagaSense_{name}")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert run.info.run_name.startswith(f"{name}_")
    params = run.data.params
    assert params["model.d_model"] == "32"
    assert params["audio.n_mels"] == "128" and params["audio.sr"] == "22050"
    assert {"training.learning_rate", "training.batch_size", "training.label_smoothing"} <= params.keys()
    assert run.data.tags["profile"] == "tiny" and "dataset_fingerprint" in run.data.tags
    assert "test_accuracy" in run.data.metrics

    assert [m.step for m in client.get_metric_history(run_id, "val_loss")] == [1, 2]
    assert len(client.get_metric_history(run_id, "system/peak_memory_bytes")) == 2

    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.json", "metrics.jsonl", "report.json", "package", "plots", "checkpoints"} <= top, top
    assert "package/int8/manifest.json" in {a.path for a in client.list_artifacts(run_id, "package/int8")}
    report = client.download_artifacts(run_id, "report.json", str(tmp_path))
    assert json.loads(Path(report).read_text())["split"] == "test"

    versions = client.search_model_versions(f"name='{name}'")
    assert len(versions) == 1
    assert versions[0].current_stage == "Production" and versions[0].run_id == run_id
    assert client.get_model_version_by_alias(name, "production").version == "1"
    r = requests.get(f"{server_url}/v1/models/{name}/@production/manifest.json", timeout=30)
    assert r.status_code == 200 and r.headers["x-model-version"] == "1"
    assert r.json()["name"] == name
