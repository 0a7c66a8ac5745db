-- What `verify` reads of a PostgreSQL ledger's schema: one line per table, column, constraint,
-- index, trigger (with whether it is enabled), function (an MD5 of its definition), rule, policy,
-- row-security flag, table inheriting from a ledger table (in any schema) and event trigger, names without the schema. It must equal
-- schema/postgres/catalog.txt, what schema/postgres/ledger.sql makes (a test checks that).
SELECT line FROM (
  SELECT 'table ' || c.relname::text || ' ' || c.relkind::text AS line FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')
  UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' nullable=' || is_nullable
      || ' collation=' || COALESCE(collation_name, '-') || ' default=' || COALESCE(column_default, '-')
    FROM information_schema.columns WHERE table_schema = current_schema()
  UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname::text || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
  UNION ALL SELECT 'index ' || indexname::text || ' ' || replace(indexdef, current_schema() || '.', '')
    FROM pg_indexes WHERE schemaname = current_schema()
  UNION ALL SELECT 'trigger ' || tgname::text || ' enabled=' || tgenabled::text || ' ' || replace(pg_get_triggerdef(t.oid), current_schema() || '.', '')
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
  UNION ALL SELECT 'function ' || p.proname::text || ' ' || md5(replace(pg_get_functiondef(p.oid), current_schema() || '.', ''))
    FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
  UNION ALL SELECT 'rule ' || rulename::text || ' on ' || tablename::text FROM pg_rules WHERE schemaname = current_schema()
  UNION ALL SELECT 'policy ' || policyname::text || ' on ' || tablename::text FROM pg_policies WHERE schemaname = current_schema()
  UNION ALL SELECT 'row security ' || relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relrowsecurity
  UNION ALL SELECT 'inherited by ' || i.inhrelid::regclass::text || ' from ' || c.relname::text
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent WHERE c.relnamespace = current_schema()::regnamespace
  UNION ALL SELECT 'event trigger ' || evtname::text || ' on ' || evtevent::text || ' enabled=' || evtenabled::text FROM pg_event_trigger
) AS catalog ORDER BY line COLLATE "C";
