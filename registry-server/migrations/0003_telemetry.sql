-- Browser telemetry: one row per classification the wasm runtime reports through
-- POST /v1/telemetry. No foreign key to model_versions: the record of what a version did in
-- the field outlives the version.

CREATE TABLE telemetry_events (
    id             INTEGER PRIMARY KEY,
    received_ms    INTEGER NOT NULL,          -- server clock
    event_id       TEXT    NOT NULL UNIQUE,   -- client-generated: a retried batch is stored once
    model          TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    backend        TEXT    NOT NULL,          -- 'webgpu' | 'cpu'
    client_time_ms INTEGER NOT NULL,
    features_ms    REAL    NOT NULL,
    inference_ms   REAL    NOT NULL,
    total_ms       REAL    NOT NULL,
    top_label      TEXT,                      -- NULL when the classification failed
    confidence     REAL,
    tradition      TEXT,                      -- 'hindustani' | 'carnatic' | 'unknown'
    tonic_hz       REAL,
    error          TEXT,
    input_json     TEXT,                      -- summary statistics of the clip, never audio
    runtime_json   TEXT
);
CREATE INDEX telemetry_by_model ON telemetry_events (model, version, received_ms);
