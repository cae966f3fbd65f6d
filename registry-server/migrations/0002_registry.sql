-- Model registry: registered models, versions, tags, aliases, and the history of every
-- stage or alias change (RagaSense's addition to MLflow's model).

CREATE TABLE registered_models (
    name             TEXT    PRIMARY KEY,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    description      TEXT,
    next_version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE model_versions (
    name             TEXT    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
    version          INTEGER NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    description      TEXT,
    user_id          TEXT,
    current_stage    TEXT    NOT NULL DEFAULT 'None',
    source           TEXT    NOT NULL,
    run_id           TEXT,
    run_link         TEXT,
    model_id         TEXT,
    status           TEXT    NOT NULL DEFAULT 'READY',
    PRIMARY KEY (name, version)
);

CREATE TABLE model_version_tags (
    name    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE registered_model_aliases (
    name    TEXT    NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
);

-- Append-only: one row per stage transition or alias change.
CREATE TABLE registry_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,      -- 'stage' | 'alias'
    version     INTEGER,               -- the version that moved (stage) or the alias' new target
    alias       TEXT,
    from_value  TEXT,
    to_value    TEXT,
    actor       TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL,
    comment     TEXT
);
CREATE INDEX registry_history_by_name ON registry_history (name, id);

-- Content-addressed files of published model packages (sha256 -> artifact path).
CREATE TABLE published_blobs (
    sha256 TEXT    PRIMARY KEY,
    path   TEXT    NOT NULL,
    size   INTEGER NOT NULL
);
