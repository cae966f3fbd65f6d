-- Tracking store: experiments, runs, params, tags and metrics (MLflow's data model).

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_uuid        TEXT    PRIMARY KEY,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    artifact_uri    TEXT    NOT NULL,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    deleted_time    INTEGER
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);

CREATE TABLE params (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX params_by_key ON params (key, value);

CREATE TABLE tags (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX tags_by_key ON tags (key, value);

-- Every logged value. NaN is stored as value 0 with is_nan = 1 and infinities as the largest
-- finite doubles, exactly as MLflow's SQL store does.
CREATE TABLE metrics (
    run_uuid       TEXT    NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    value          REAL    NOT NULL,
    value_bits     INTEGER NOT NULL,  -- the IEEE-754 bits of value: exact text rendering
    is_nan         INTEGER NOT NULL DEFAULT 0,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL DEFAULT 0,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT
);
-- Logging the same (key, timestamp, step, value) twice keeps one row, as in MLflow.
CREATE UNIQUE INDEX metrics_identity ON metrics (run_uuid, key, step, timestamp, value, is_nan);

-- The value shown for a run: greatest (step, timestamp, value).
CREATE TABLE latest_metrics (
    run_uuid  TEXT    NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     REAL    NOT NULL,
    value_bits INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
);
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

-- Datasets and logged models (MLflow 3): enough for log_inputs / log_model to round-trip.
CREATE TABLE run_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind     TEXT NOT NULL,         -- 'dataset' | 'model' | 'output'
    body     TEXT NOT NULL,         -- the JSON object as MLflow sends it
    PRIMARY KEY (run_uuid, position)
);

CREATE TABLE logged_models (
    model_id          TEXT    PRIMARY KEY,
    experiment_id     INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    artifact_uri      TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    model_type        TEXT,
    source_run_id     TEXT,
    status_message    TEXT,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- Keep latest_metrics current in the same statement that logs a value (one write per metric).
CREATE TRIGGER metrics_update_latest AFTER INSERT ON metrics
BEGIN
    INSERT INTO latest_metrics (run_uuid, key, value, value_bits, is_nan, timestamp, step)
    VALUES (NEW.run_uuid, NEW.key, NEW.value, NEW.value_bits, NEW.is_nan, NEW.timestamp, NEW.step)
    ON CONFLICT (run_uuid, key) DO UPDATE SET
        value = excluded.value,
        value_bits = excluded.value_bits,
        is_nan = excluded.is_nan,
        timestamp = excluded.timestamp,
        step = excluded.step
    WHERE (excluded.step, excluded.timestamp, excluded.value)
        >= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value);
END;
