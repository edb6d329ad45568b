-- 0003: hostnames of dev hosts and team mappings are case-insensitive, as the
-- pipeline reads them (the alerter lower-cases an event's host before it looks
-- it up), and the API lower-cases them on write and lookup from now on.
--
-- Existing rows are lower-cased. Rows that differ only in case are merged into
-- one, because the alerter could only ever use one of them:
--   * development_hosts: the row added first is kept;
--   * device_teams: the mapping changed last (updated_at) is kept, the others
--     are removed.
-- Each removed row gets a config_audit_log DELETE row (changed_by
-- 'migration:0003', old_values the removed row, reason naming the kept
-- hostname), so the merge shows in the audit page. Then a unique index on
-- lower(hostname) refuses a new variant that differs only in case.

WITH ranked AS (
    SELECT hostname, row_number() OVER (PARTITION BY lower(hostname) ORDER BY created_at, hostname) AS n
    FROM development_hosts
), dropped AS (
    DELETE FROM development_hosts d USING ranked r
    WHERE d.hostname = r.hostname AND r.n > 1
    RETURNING d.*
)
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, reason)
SELECT 'migration:0003', 'DELETE', 'development_hosts', hostname, to_jsonb(dropped),
       'merged into ' || lower(hostname) || ': hostnames that differ only in case are one host'
FROM dropped;

UPDATE development_hosts SET hostname = lower(hostname) WHERE hostname <> lower(hostname);
CREATE UNIQUE INDEX development_hosts_hostname_lower ON development_hosts (lower(hostname));

WITH ranked AS (
    SELECT hostname, row_number() OVER (PARTITION BY lower(hostname) ORDER BY updated_at DESC, hostname) AS n
    FROM device_teams
), dropped AS (
    DELETE FROM device_teams d USING ranked r
    WHERE d.hostname = r.hostname AND r.n > 1
    RETURNING d.*
)
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, reason)
SELECT 'migration:0003', 'DELETE', 'device_teams', hostname, to_jsonb(dropped),
       'merged into ' || lower(hostname) || ': hostnames that differ only in case are one host'
FROM dropped;

UPDATE device_teams SET hostname = lower(hostname) WHERE hostname <> lower(hostname);
CREATE UNIQUE INDEX device_teams_hostname_lower ON device_teams (lower(hostname));
