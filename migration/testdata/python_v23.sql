-- Fixture: a Python MUTT v2.3 database whose operator, tired of "no partition
-- of relation event_audit_log found for row", recreated event_audit_log as a
-- plain table. No config audit (added in v2.5), no archive. Schema as
-- documented in shared/reference/peer-management.md §1.1-1.4.
CREATE TABLE alert_rules (
    id SERIAL PRIMARY KEY,
    match_string VARCHAR(255),
    trap_oid VARCHAR(255),
    syslog_severity INT CHECK (syslog_severity IS NULL OR syslog_severity BETWEEN 0 AND 7),
    match_type VARCHAR(20) NOT NULL DEFAULT 'contains' CHECK (match_type IN ('contains', 'regex', 'oid_prefix')),
    priority INT NOT NULL DEFAULT 100,
    prod_handling VARCHAR(100) NOT NULL,
    dev_handling VARCHAR(100) NOT NULL,
    team_assignment VARCHAR(100) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT true,
    CONSTRAINT chk_match_criteria CHECK (match_string IS NOT NULL OR trap_oid IS NOT NULL)
);
CREATE TABLE development_hosts (hostname VARCHAR(255) PRIMARY KEY);
CREATE TABLE device_teams (hostname VARCHAR(255) PRIMARY KEY, team_assignment VARCHAR(100) NOT NULL);
CREATE TABLE event_audit_log (
    id BIGSERIAL PRIMARY KEY,
    event_timestamp TIMESTAMPTZ NOT NULL,
    hostname VARCHAR(255) NOT NULL,
    matched_rule_id INT NOT NULL REFERENCES alert_rules (id) ON DELETE RESTRICT,
    handling_decision VARCHAR(100) NOT NULL,
    forwarded_to_moog BOOLEAN NOT NULL DEFAULT false,
    raw_message TEXT
);
CREATE INDEX idx_audit_log_timestamp ON event_audit_log (event_timestamp);

INSERT INTO alert_rules (match_string, trap_oid, match_type, priority, prod_handling, dev_handling, team_assignment) VALUES
    ('CRITICAL', NULL, 'contains', 10, 'Page_and_ticket', 'Ticket_only', 'NETO'),
    ('ERROR', NULL, 'contains', 20, 'Ticket_only', 'Ignore', 'NETO'),
    (NULL, '.1.3.6.1.4.1.9.9.41.2', 'oid_prefix', 15, 'Page_and_ticket', 'Ignore', 'NetOps');
INSERT INTO development_hosts VALUES ('dev-router1');
INSERT INTO device_teams VALUES ('router1.prod.example.com', 'NetOps');
INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
SELECT TIMESTAMPTZ '2025-09-20T00:00:00Z' + g * INTERVAL '97 minutes', 'router1.prod.example.com', 1 + g % 3, 'Ticket_only', true,
       '{"hostname": "router1.prod.example.com", "message": "CRITICAL fan", "timestamp": "x", "_correlation_id": "' || md5(g::text)::uuid::text || '"}'
FROM generate_series(1, 2500) g;
