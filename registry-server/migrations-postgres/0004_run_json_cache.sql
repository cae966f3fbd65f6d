-- Each run as the MLflow JSON text runs/search returns (`{"info":…,"data":…,"inputs":…,
-- "outputs":…}`), so that a page of runs is one short read. Searches fill it (in a write
-- transaction, from the tables); the triggers below drop a run's row in the same statement
-- that changes anything it renders. A row is therefore either absent or current, never stale.
--
-- PostgreSQL twin of migrations/0004_run_json_cache.sql (see README.md). SQLite's
-- WITHOUT ROWID has no counterpart (a PostgreSQL table is a heap plus its primary key index);
-- each SQLite trigger is a row trigger of the same name calling one of two functions.
CREATE TABLE run_json_cache (
    run_uuid TEXT PRIMARY KEY REFERENCES runs (run_uuid) ON DELETE CASCADE,
    json     TEXT NOT NULL
);

-- For params, tags, run_inputs and latest_metrics: INSERT drops NEW's run, DELETE drops
-- OLD's, UPDATE drops both (OLD.run_uuid and NEW.run_uuid).
CREATE FUNCTION run_json_cache_drop() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        DELETE FROM run_json_cache WHERE run_uuid = NEW.run_uuid;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
    ELSE
        DELETE FROM run_json_cache WHERE run_uuid IN (OLD.run_uuid, NEW.run_uuid);
    END IF;
    RETURN NULL;
END;
$$;

-- For runs, whose UPDATE drops OLD's run only, as in SQLite.
CREATE FUNCTION run_json_cache_drop_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM run_json_cache WHERE run_uuid = OLD.run_uuid;
    RETURN NULL;
END;
$$;

CREATE TRIGGER runs_update_drops_cache AFTER UPDATE ON runs
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop_old();

CREATE TRIGGER latest_metrics_insert_drops_cache AFTER INSERT ON latest_metrics
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER latest_metrics_update_drops_cache AFTER UPDATE ON latest_metrics
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER latest_metrics_delete_drops_cache AFTER DELETE ON latest_metrics
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER params_insert_drops_cache AFTER INSERT ON params
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER params_update_drops_cache AFTER UPDATE ON params
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER params_delete_drops_cache AFTER DELETE ON params
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER tags_insert_drops_cache AFTER INSERT ON tags
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER tags_update_drops_cache AFTER UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER tags_delete_drops_cache AFTER DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER run_inputs_insert_drops_cache AFTER INSERT ON run_inputs
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER run_inputs_update_drops_cache AFTER UPDATE ON run_inputs
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();

CREATE TRIGGER run_inputs_delete_drops_cache AFTER DELETE ON run_inputs
    FOR EACH ROW EXECUTE FUNCTION run_json_cache_drop();
