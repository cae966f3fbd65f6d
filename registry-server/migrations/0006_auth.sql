-- Auth: API tokens with scopes, and the audit log of every change.

-- A token is shown once, when created; only the SHA-256 of the whole token string is kept.
-- `scopes` is a space-separated subset of: read write admin telemetry. `models` (JSON array)
-- limits a telemetry key to the named models (NULL: any model).
CREATE TABLE api_tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    models       TEXT,
    created_ms   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    expires_ms   INTEGER,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);

-- Every write, registry change and admin action, with who, when and what. `details` is a JSON
-- object of the request's identifying fields (name, version, stage, run_id, ...), never secrets.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    token_id  TEXT,
    method    TEXT    NOT NULL,
    route     TEXT    NOT NULL,
    path      TEXT    NOT NULL,
    status    INTEGER NOT NULL,
    details   TEXT,
    remote    TEXT
);
CREATE INDEX audit_by_time ON audit_log (time_ms);
CREATE INDEX audit_by_actor ON audit_log (actor, id);
