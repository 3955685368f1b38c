-- GIN twins of FerretDB's indexes, for FerretDB v1 on PostgreSQL (make dev's embedded store; docs/testing.md
-- "Known limits of the test server").
--
-- FerretDB v1 creates each MongoDB index as a btree on `_jsonb -> 'field'` expressions, but pushes a top-level
-- equality down as `_jsonb -> 'field' @> value`, an operator a btree cannot serve: every query scans the table,
-- `_id` included. A GIN index (jsonb_path_ops) on the same expression serves `@>`. This event trigger gives every
-- field of every btree index FerretDB creates (the `_id` index of each new collection, and each createIndexes) a
-- single-field GIN twin. Nothing in FerretDB changes: it sends the same SQL, and PostgreSQL's planner picks the
-- twin. A nested field (`emails.valueKey`) gets no twin: FerretDB pushes no nested field down. A twin outlives a
-- dropped index (it then costs only writes) and goes with its table.
--
-- Run by the database's superuser (idempotent) when the server starts: scripts/dev.sh and libs/testing's
-- startPostgres do. Indexes that exist already get their twins then.

-- Named after its table and field, so the FerretDB indexes sharing a field share its twin.
CREATE OR REPLACE FUNCTION scimbridge_ferretdb_gin_name(table_name name, expression text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT 'gin_' || left(md5(table_name || ' ' || expression), 24) $$;

-- The twins of one index: one per top-level field of a btree (the twins themselves are GIN: no recursion).
CREATE OR REPLACE FUNCTION scimbridge_ferretdb_gin_twins(index_oid oid) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  index record;
  expression text;
BEGIN
  SELECT n.nspname AS schema_name, t.relname AS table_name, am.amname AS method, x.indnatts AS columns
    INTO index
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class t ON t.oid = x.indrelid
   WHERE x.indexrelid = index_oid;
  IF index.method IS DISTINCT FROM 'btree' THEN RETURN; END IF;
  -- Single-field twins: PostgreSQL uses the selective one (userNameKey, not orgId) and filters the rest, where a
  -- multi-field GIN is costed by its least selective field and not chosen.
  FOR i IN 1..index.columns LOOP
    expression := pg_get_indexdef(index_oid, i, true);
    CONTINUE WHEN expression !~ '^\(?_jsonb -> ''[^'']+''::text\)?$';
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((%s) jsonb_path_ops)',
      scimbridge_ferretdb_gin_name(index.table_name, expression), index.schema_name, index.table_name,
      expression);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION scimbridge_ferretdb_gin_create() RETURNS event_trigger
  LANGUAGE plpgsql AS $$
DECLARE
  command record;
BEGIN
  FOR command IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    PERFORM scimbridge_ferretdb_gin_twins(command.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS scimbridge_ferretdb_gin_create;
CREATE EVENT TRIGGER scimbridge_ferretdb_gin_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION scimbridge_ferretdb_gin_create();

-- Indexes FerretDB created before this script ran (a make dev data directory from an earlier version) get theirs.
SELECT scimbridge_ferretdb_gin_twins(x.indexrelid)
  FROM pg_index x
  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attname = '_jsonb' AND a.atttypid = 'jsonb'::regtype
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema');

-- FerretDB's driver prepares its statements with the field name as a parameter (`_jsonb -> $1 @> $2`): only a
-- plan made for the values (a custom plan) matches a twin's expression; a generic plan would scan.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END $$;
