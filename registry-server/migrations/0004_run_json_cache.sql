-- Each run as the MLflow JSON text runs/search returns (`{"info":…,"data":…,"inputs":…,
-- "outputs":…}`), so that a page of runs is one short read. Searches fill it (in a write
-- transaction, from the tables); the triggers below drop a run's row in the same statement
-- that changes anything it renders. A row is therefore either absent or current, never stale.
CREATE TABLE run_json_cache (
    run_uuid TEXT PRIMARY KEY REFERENCES runs (run_uuid) ON DELETE CASCADE,
    json     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER runs_update_drops_cache AFTER UPDATE ON runs
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
END;

CREATE TRIGGER latest_metrics_insert_drops_cache AFTER INSERT ON latest_metrics
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = NEW.run_uuid;
END;

CREATE TRIGGER latest_metrics_update_drops_cache AFTER UPDATE ON latest_metrics
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid IN (OLD.run_uuid, NEW.run_uuid);
END;

CREATE TRIGGER latest_metrics_delete_drops_cache AFTER DELETE ON latest_metrics
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
END;

CREATE TRIGGER params_insert_drops_cache AFTER INSERT ON params
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = NEW.run_uuid;
END;

CREATE TRIGGER params_update_drops_cache AFTER UPDATE ON params
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid IN (OLD.run_uuid, NEW.run_uuid);
END;

CREATE TRIGGER params_delete_drops_cache AFTER DELETE ON params
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
END;

CREATE TRIGGER tags_insert_drops_cache AFTER INSERT ON tags
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = NEW.run_uuid;
END;

CREATE TRIGGER tags_update_drops_cache AFTER UPDATE ON tags
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid IN (OLD.run_uuid, NEW.run_uuid);
END;

CREATE TRIGGER tags_delete_drops_cache AFTER DELETE ON tags
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
END;

CREATE TRIGGER run_inputs_insert_drops_cache AFTER INSERT ON run_inputs
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = NEW.run_uuid;
END;

CREATE TRIGGER run_inputs_update_drops_cache AFTER UPDATE ON run_inputs
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid IN (OLD.run_uuid, NEW.run_uuid);
END;

CREATE TRIGGER run_inputs_delete_drops_cache AFTER DELETE ON run_inputs
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
END;
