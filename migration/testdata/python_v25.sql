-- Fixture: a database of the Python MUTT v2.5, built from the documented schema
-- (database/mutt_schema.sql, config_audit_schema.sql, partitioned_event_audit_log.sql
-- as described in shared/reference/peer-management.md §1). Only what keeps the
-- originals from loading was fixed: the U+2502 characters pasted in front of
-- every line, the CHECK wrapped over two lines, the double load of the audit
-- indexes, and the closing psql \echo. Everything else, including the
-- archive_old_events() that cannot run (COMMIT inside a function), is as
-- documented. Realistic rows follow the DDL.

CREATE TABLE alert_rules (
    id SERIAL PRIMARY KEY,
    match_string VARCHAR(255),
    trap_oid VARCHAR(255),
    syslog_severity INT,
    match_type VARCHAR(20) NOT NULL DEFAULT 'contains',
    priority INT NOT NULL DEFAULT 100,
    prod_handling VARCHAR(100) NOT NULL,
    dev_handling VARCHAR(100) NOT NULL,
    team_assignment VARCHAR(100) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT true,
    CONSTRAINT chk_match_type CHECK (match_type IN ('contains', 'regex', 'oid_prefix')),
    CONSTRAINT chk_syslog_severity CHECK (syslog_severity IS NULL OR (syslog_severity >= 0 AND syslog_severity <= 7)),
    CONSTRAINT chk_match_criteria CHECK (match_string IS NOT NULL OR trap_oid IS NOT NULL)
);
CREATE INDEX idx_alert_rules_match_type ON alert_rules (match_type);
CREATE INDEX idx_alert_rules_is_active ON alert_rules (is_active);
COMMENT ON TABLE alert_rules IS 'Alert rules, cached by the Alerter';

CREATE TABLE development_hosts (hostname VARCHAR(255) PRIMARY KEY);
CREATE TABLE device_teams (hostname VARCHAR(255) PRIMARY KEY, team_assignment VARCHAR(100) NOT NULL);

CREATE TABLE event_audit_log (
    id BIGSERIAL NOT NULL,
    event_timestamp TIMESTAMPTZ NOT NULL,
    hostname VARCHAR(255) NOT NULL,
    matched_rule_id INT NOT NULL,
    handling_decision VARCHAR(100) NOT NULL,
    forwarded_to_moog BOOLEAN NOT NULL DEFAULT false,
    raw_message TEXT,
    PRIMARY KEY (id, event_timestamp),
    CONSTRAINT fk_event_audit_matched_rule FOREIGN KEY (matched_rule_id) REFERENCES alert_rules (id) ON DELETE RESTRICT
) PARTITION BY RANGE (event_timestamp);
CREATE INDEX idx_audit_log_timestamp ON event_audit_log (event_timestamp);
CREATE INDEX idx_audit_log_hostname ON event_audit_log (hostname);
CREATE INDEX idx_audit_log_rule_id ON event_audit_log (matched_rule_id);
COMMENT ON COLUMN event_audit_log.id IS 'only unique within its partition';

CREATE OR REPLACE FUNCTION create_monthly_partition(start_date DATE) RETURNS void AS $$
DECLARE
    partition_name TEXT := 'event_audit_log_' || TO_CHAR(start_date, 'YYYY_MM');
    end_date DATE := start_date + INTERVAL '1 month';
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF event_audit_log FOR VALUES FROM (%L) TO (%L)',
        partition_name, TO_CHAR(start_date, 'YYYY-MM-DD'), TO_CHAR(end_date, 'YYYY-MM-DD'));
    RAISE NOTICE 'Created partition %', partition_name;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION drop_old_partitions(retention_months INTEGER) RETURNS void AS $$
DECLARE
    r RECORD;
    cutoff DATE := CURRENT_DATE - (retention_months || ' months')::interval;
    part_date DATE;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE tablename LIKE 'event_audit_log_%' LOOP
        BEGIN
            part_date := TO_DATE(substring(r.tablename from '\d{4}_\d{2}$'), 'YYYY_MM');
        EXCEPTION WHEN others THEN
            RAISE NOTICE 'Skipping partition %', r.tablename;
            CONTINUE;
        END;
        IF part_date IS NULL THEN
            RAISE NOTICE 'Skipping partition %', r.tablename;
        ELSIF part_date < cutoff THEN
            EXECUTE format('DROP TABLE IF EXISTS %I', r.tablename);
        END IF;
    END LOOP;
END;
$$ LANGUAGE plpgsql;

-- Partitions as the monthly cron left them: November and December 2025 and
-- January 2026 (the two examples in the schema were commented out).
SELECT create_monthly_partition('2025-11-01');
SELECT create_monthly_partition('2025-12-01');
SELECT create_monthly_partition('2026-01-01');

-- config_audit_schema.sql
CREATE TABLE IF NOT EXISTS config_audit_log (
    id BIGSERIAL PRIMARY KEY,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    changed_by VARCHAR(100) NOT NULL,
    operation VARCHAR(10) NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE')),
    table_name VARCHAR(50) NOT NULL,
    record_id INTEGER NOT NULL,
    old_values JSONB,
    new_values JSONB,
    reason TEXT,
    correlation_id VARCHAR(36)
);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_table_record ON config_audit_log (table_name, record_id);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_changed_at ON config_audit_log (changed_at DESC);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_changed_by ON config_audit_log (changed_by);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_correlation_id ON config_audit_log (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_config_audit_log_old_values_gin ON config_audit_log USING GIN (old_values);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_new_values_gin ON config_audit_log USING GIN (new_values);

-- partitioned_event_audit_log.sql
CREATE TABLE event_audit_log_archive (
    id BIGSERIAL PRIMARY KEY,
    event_timestamp TIMESTAMPTZ NOT NULL,
    hostname VARCHAR(255) NOT NULL,
    matched_rule_id INT NOT NULL,
    handling_decision VARCHAR(100) NOT NULL,
    forwarded_to_moog BOOLEAN NOT NULL DEFAULT false,
    raw_message TEXT,
    archived_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    archived_from_partition VARCHAR(50),
    original_id BIGINT,
    original_partition_timestamp TIMESTAMPTZ
);
CREATE INDEX idx_audit_archive_timestamp ON event_audit_log_archive (event_timestamp);
CREATE INDEX idx_audit_archive_hostname ON event_audit_log_archive (hostname);
CREATE INDEX idx_audit_archive_archived_at ON event_audit_log_archive (archived_at);
CREATE INDEX idx_audit_archive_rule_id ON event_audit_log_archive (matched_rule_id);

CREATE OR REPLACE FUNCTION archive_old_events(retention_days INTEGER DEFAULT 90, batch_size INTEGER DEFAULT 10000)
RETURNS BIGINT AS $$
DECLARE
    total BIGINT := 0;
BEGIN
    INSERT INTO event_audit_log_archive (event_timestamp, hostname, matched_rule_id, handling_decision,
        forwarded_to_moog, raw_message, archived_from_partition, original_id, original_partition_timestamp)
    SELECT event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message,
        'event_audit_log', id, event_timestamp
    FROM event_audit_log WHERE event_timestamp < NOW() - (retention_days || ' days')::interval LIMIT batch_size;
    COMMIT;
    RETURN total;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION get_archive_statistics() RETURNS TABLE (metric_name TEXT, metric_value TEXT) AS $$
BEGIN
    RETURN QUERY SELECT 'Total Archived Events'::TEXT, COUNT(*)::TEXT FROM event_audit_log_archive;
    RETURN QUERY SELECT 'Active Events Count'::TEXT, COUNT(*)::TEXT FROM event_audit_log;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION delete_old_archives(retention_years INTEGER DEFAULT 7) RETURNS BIGINT AS $$
DECLARE n BIGINT;
BEGIN
    DELETE FROM event_audit_log_archive WHERE event_timestamp < NOW() - (retention_years || ' years')::interval;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE VIEW partition_health_summary AS
SELECT c.relname AS partition_name,
       pg_get_expr(c.relpartbound, c.oid) AS partition_range,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS partition_size,
       (SELECT count(*) FROM pg_class x WHERE x.relname = c.relname) AS row_count_estimate
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_audit_log'::regclass
ORDER BY c.relname DESC;

-- Seed data of mutt_schema.sql (ids 1-5).
INSERT INTO alert_rules (match_string, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
    ('CRITICAL', 'contains', 10, 'Page_and_ticket', 'Ticket_only', 'NETO'),
    ('ERROR', 'contains', 20, 'Ticket_only', 'Ignore', 'NETO'),
    ('LINK-DOWN', 'contains', 5, 'Page_and_ticket', 'Ticket_only', 'NetOps'),
    ('DOT1X-FIRMWARE-RUNNING', 'contains', 50, 'Ticket_only', 'Ignore', 'Security');
INSERT INTO alert_rules (trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
    ('.1.3.6.1.4.1.9.9.41.2', 'oid_prefix', 15, 'Page_and_ticket', 'Ignore', 'NetOps');
-- Rules operators added over time: a regex RE2 accepts, one it does not
-- (look-ahead), a severity-scoped rule, an inactive one, and one that could
-- never match in v2.5 either (a contains rule with only a trap OID).
INSERT INTO alert_rules (match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment, is_active) VALUES
    ('%BGP-5-ADJCHANGE.*Down', NULL, NULL, 'regex', 8, 'Page_and_ticket', 'Ticket_only', 'NetOps', true),
    ('^(?!.*keepalive).*OSPF', NULL, NULL, 'regex', 30, 'Ticket_only', 'Ignore', 'NetOps', true),
    ('POWER', NULL, 2, 'contains', 12, 'Page_and_ticket', 'Page_and_ticket', 'DCOps', true),
    ('DEPRECATED', NULL, NULL, 'contains', 90, 'Ignore', 'Ignore', 'LEGACY', false),
    (NULL, '1.3.6.1.6.3.1.1.5.3', NULL, 'contains', 40, 'Ticket_only', 'Ignore', 'NetOps', true);

INSERT INTO development_hosts VALUES ('dev-router1'), ('test-switch1'), ('qa-firewall1');
INSERT INTO device_teams VALUES
    ('router1.prod.example.com', 'NetOps'), ('switch1.prod.example.com', 'NetOps'),
    ('firewall1.prod.example.com', 'Security'), ('server1.prod.example.com', 'SysAdmin');

-- The four sample rows config_audit_schema.sql inserts on every load, then
-- real history, including dynamic config changes with hash() record ids.
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id, changed_at) VALUES
    ('admin_api_key', 'CREATE', 'alert_rules', 1, NULL, '{"match_string":"ERROR","priority":100,"team_assignment":"NETO","is_active":true}', 'New rule for critical errors', 'a1b2c3d4-e5f6-7890-abcd-ef1234567890', '2025-11-03T09:00:00Z'),
    ('webui_session_user_alice', 'UPDATE', 'alert_rules', 1, '{"priority":100}', '{"priority":200}', 'Increased priority due to production incidents', 'b2c3d4e5-f6a7-8901-bcde-f12345678901', '2025-11-03T10:00:00Z'),
    ('automation_service', 'UPDATE', 'alert_rules', 1, '{"is_active":true}', '{"is_active":false}', 'Rule no longer needed after infrastructure upgrade', 'c3d4e5f6-a7b8-9012-cdef-123456789012', '2025-11-04T08:00:00Z'),
    ('admin_api_key', 'DELETE', 'alert_rules', 99, '{"match_string":"DEPRECATED","priority":50,"team_assignment":"LEGACY","is_active":false}', NULL, 'Cleanup of old deprecated rules', NULL, '2025-11-05T08:00:00Z');
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id, changed_at)
SELECT 'webui_api:' || substr(md5(g::text), 1, 8),
       CASE WHEN g % 3 = 0 THEN 'CREATE' ELSE 'UPDATE' END,
       CASE WHEN g % 2 = 0 THEN 'dynamic_config' ELSE 'alert_rules' END,
       CASE WHEN g % 2 = 0 THEN 1000000 + g * 7919 ELSE 1 + g % 9 END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE jsonb_build_object('key', 'ingest_max_rate', 'value', (g * 10)::text) END,
       jsonb_build_object('key', 'ingest_max_rate', 'value', (g * 10 + 10)::text),
       'change ' || g, md5(g::text)::uuid::text, TIMESTAMPTZ '2025-11-10T00:00:00Z' + g * INTERVAL '7 hours'
FROM generate_series(1, 200) g;

-- 6,000 audited events over the three months, as the Alerter wrote them
-- (raw_message is json.dumps of the whole event).
INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
SELECT ts, host, rule, handling, handling <> 'Ignore',
       '{"hostname": "' || host || '", "message": "%LINK-3-UPDOWN: Interface Gi0/' || (g % 48) || ', changed state to down", "timestamp": "'
         || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '", "_correlation_id": "' || md5('c' || g)::uuid::text || '"}'
FROM (
    SELECT g, TIMESTAMPTZ '2025-11-01T00:00:00Z' + g * INTERVAL '1111 seconds' + (g % 7) * INTERVAL '1 second' AS ts,
           CASE WHEN g % 10 = 0 THEN 'dev-router1' ELSE 'router' || (g % 25) || '.prod.example.com' END AS host,
           1 + g % 5 AS rule,
           (ARRAY['Page_and_ticket', 'Ticket_only', 'Ignore'])[1 + g % 3] AS handling
    FROM generate_series(1, 6000) g
) e;

-- Rows the broken enforcer moved to the archive before the cut-over.
INSERT INTO event_audit_log_archive (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message, archived_from_partition, original_id, original_partition_timestamp)
SELECT TIMESTAMPTZ '2025-08-01T00:00:00Z' + g * INTERVAL '1 hour', 'router1.prod.example.com', 3, 'Page_and_ticket', true,
       '{"hostname": "router1.prod.example.com", "message": "LINK-DOWN", "_correlation_id": "' || md5('a' || g)::uuid::text || '"}',
       'event_audit_log_2025_08', 900000 + g, TIMESTAMPTZ '2025-08-01T00:00:00Z' + g * INTERVAL '1 hour'
FROM generate_series(1, 300) g;
