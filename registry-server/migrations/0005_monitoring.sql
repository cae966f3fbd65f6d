-- Monitoring: the true raga of predictions (feedback) and alerts raised by the rules.

-- One row per prediction someone said the truth of. `prediction_id` is the telemetry event id
-- (or the id an /invocations answer carried); a second answer for the same id replaces the
-- first. `predicted` is copied from the prediction, so accuracy needs no join.
CREATE TABLE feedback (
    prediction_id TEXT    PRIMARY KEY,
    model         TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    predicted     TEXT    NOT NULL,
    true_label    TEXT    NOT NULL,
    correct       INTEGER NOT NULL CHECK (correct IN (0, 1)),
    received_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX feedback_by_model ON feedback (model, version, received_ms);

-- Every alert that fired, open or resolved. At most one open alert per rule and version: the
-- partial unique index makes a second evaluator (another replica) unable to open a duplicate.
CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    rule           TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    metric         TEXT    NOT NULL,
    op             TEXT    NOT NULL,
    threshold      REAL    NOT NULL,
    window_s       REAL    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('firing', 'resolved')),
    value          REAL    NOT NULL,   -- when it fired
    last_value     REAL,               -- at the last evaluation (NULL: no data)
    samples        INTEGER NOT NULL,
    fired_ms       INTEGER NOT NULL,
    last_eval_ms   INTEGER NOT NULL,
    resolved_ms    INTEGER,
    message        TEXT    NOT NULL,
    webhook_status TEXT                -- how the last notification went
);
CREATE UNIQUE INDEX alerts_open ON alerts (rule, model, version) WHERE state = 'firing';
CREATE INDEX alerts_by_time ON alerts (fired_ms);
-- Window scans of all models (the alert evaluator's "which versions had traffic").
CREATE INDEX telemetry_by_time ON telemetry_events (received_ms);
