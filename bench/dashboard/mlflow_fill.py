"""Fills an MLflow SQLite store with the benchmark's runs through MLflow's own tracking store.

bench.mjs writes the runs (one JSON object a line: run_name, start_time, tags, params,
metrics) and gives this script their file; each run goes in as MLflow's server stores a
`runs/create` then a `runs/log-batch`: the same `SqlAlchemyStore.create_run` and `log_batch`
calls, in-process, without the HTTP hop. SQLite runs with `synchronous=OFF` and a
write-ahead log during the fill only, and the file is set back to MLflow's own rollback
journal before the server opens it, so the server reads the store it would have written.

    python mlflow_fill.py STORE_URI RUNS_JSONL EXPERIMENT_NAME   (prints the experiment id)
"""

import json
import sqlite3
import sys
import time

from sqlalchemy import event

from mlflow.entities import Metric, Param, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore


def main() -> None:
    store_uri, runs_path, experiment_name = sys.argv[1:4]
    # The artifact root `mlflow server --artifacts-destination` gives new experiments.
    store = SqlAlchemyStore(store_uri, "mlflow-artifacts:/")

    @event.listens_for(store.engine, "connect")
    def fast_fill(conn, _record):
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    store.engine.dispose()
    experiment_id = store.create_experiment(experiment_name)
    t0 = time.perf_counter()
    n = 0
    with open(runs_path, encoding="utf-8") as lines:
        for line in lines:
            spec = json.loads(line)
            tags = [RunTag(k, v) for k, v in spec["tags"].items()]
            run = store.create_run(experiment_id, "", spec["start_time"], tags, spec["run_name"])
            store.log_batch(
                run.info.run_id,
                metrics=[Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in spec["metrics"]],
                params=[Param(k, v) for k, v in spec["params"].items()],
                tags=[],
            )
            n += 1
            if n % 1000 == 0:
                rate = n / (time.perf_counter() - t0)
                print(f"mlflow_fill: {n} runs ({rate:.0f} runs/s)", file=sys.stderr, flush=True)
    store.engine.dispose()
    # Back to MLflow's default journal, with every page in the main file.
    db = sqlite3.connect(store_uri.removeprefix("sqlite:///"))
    mode = db.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    db.close()
    if mode != "delete":
        sys.exit(f"mlflow_fill: could not set the store back to journal_mode=DELETE (it is {mode})")
    print(experiment_id)


if __name__ == "__main__":
    main()
