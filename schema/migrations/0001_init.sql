-- MUTT schema v1. Table and column names follow MUTT v2.5 so operators' queries keep working.

CREATE TABLE alert_rules (
    id              SERIAL PRIMARY KEY,
    match_string    VARCHAR(255),
    trap_oid        VARCHAR(255),
    syslog_severity INT CHECK (syslog_severity BETWEEN 0 AND 7),
    match_type      VARCHAR(20) NOT NULL DEFAULT 'contains'
                    CHECK (match_type IN ('contains', 'regex', 'oid_prefix')),
    priority        INT NOT NULL DEFAULT 100,
    prod_handling   VARCHAR(100) NOT NULL,
    dev_handling    VARCHAR(100) NOT NULL,
    team_assignment VARCHAR(100) NOT NULL,
    is_active       BOOLEAN NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    version         INT NOT NULL DEFAULT 1,
    -- A rule must carry what its match type needs (the peer allowed rules that could never match).
    CONSTRAINT chk_match_criteria CHECK (
        (match_type = 'oid_prefix' AND trap_oid IS NOT NULL AND trap_oid <> '')
        OR (match_type IN ('contains', 'regex') AND match_string IS NOT NULL AND match_string <> ''))
);
CREATE INDEX idx_alert_rules_active_priority ON alert_rules (priority, id) WHERE is_active;

CREATE TABLE development_hosts (
    hostname   VARCHAR(255) PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE device_teams (
    hostname        VARCHAR(255) PRIMARY KEY,
    team_assignment VARCHAR(100) NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Audit of every matched event, partitioned by month on the event's own time
-- (partitions event_audit_log_pYYYYMM, created by mutt migrate and the
-- partition-maintenance workflow; the DEFAULT partition catches the rest and is
-- monitored). event_id is the idempotency key: a redelivered event never makes
-- a second row. matched_rule_id has no foreign key: the audit outlives rules,
-- so deleting a rule always works (ADR 0003).
CREATE TABLE event_audit_log (
    id                BIGSERIAL NOT NULL,
    event_id          UUID NOT NULL,
    event_timestamp   TIMESTAMPTZ NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL,
    hostname          VARCHAR(255) NOT NULL,
    matched_rule_id   INT,
    handling_decision VARCHAR(100) NOT NULL,
    forwarded_to_moog BOOLEAN NOT NULL DEFAULT false,
    team_assignment   VARCHAR(100),
    environment       VARCHAR(8),
    correlation_id    VARCHAR(64),
    raw_message       TEXT,
    PRIMARY KEY (event_id, event_timestamp)
) PARTITION BY RANGE (event_timestamp);
CREATE INDEX idx_audit_log_timestamp ON event_audit_log (event_timestamp);
CREATE INDEX idx_audit_log_hostname ON event_audit_log (hostname, event_timestamp);
CREATE INDEX idx_audit_log_correlation ON event_audit_log (correlation_id);
CREATE TABLE event_audit_log_default PARTITION OF event_audit_log DEFAULT;

CREATE TABLE event_audit_log_archive (
    id                      BIGINT NOT NULL,
    event_id                UUID NOT NULL,
    event_timestamp         TIMESTAMPTZ NOT NULL,
    received_at             TIMESTAMPTZ NOT NULL,
    hostname                VARCHAR(255) NOT NULL,
    matched_rule_id         INT,
    handling_decision       VARCHAR(100) NOT NULL,
    forwarded_to_moog       BOOLEAN NOT NULL DEFAULT false,
    team_assignment         VARCHAR(100),
    environment             VARCHAR(8),
    correlation_id          VARCHAR(64),
    raw_message             TEXT,
    archived_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    archived_from_partition VARCHAR(63),
    PRIMARY KEY (event_id, event_timestamp)
);
CREATE INDEX idx_audit_archive_timestamp ON event_audit_log_archive (event_timestamp);
CREATE INDEX idx_audit_archive_hostname ON event_audit_log_archive (hostname);

CREATE TABLE config_audit_log (
    id             BIGSERIAL PRIMARY KEY,
    changed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_by     VARCHAR(100) NOT NULL,
    operation      VARCHAR(10) NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE')),
    table_name     VARCHAR(50) NOT NULL,
    record_id      VARCHAR(255) NOT NULL, -- text: dynamic config records are key names
    old_values     JSONB,
    new_values     JSONB,
    reason         TEXT,
    correlation_id VARCHAR(64)
);
CREATE INDEX idx_config_audit_log_table_record ON config_audit_log (table_name, record_id);
CREATE INDEX idx_config_audit_log_changed_at ON config_audit_log (changed_at DESC);
CREATE INDEX idx_config_audit_log_changed_by ON config_audit_log (changed_by);

CREATE TABLE slo_reports (
    id           BIGSERIAL PRIMARY KEY,
    generated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    status       VARCHAR(16) NOT NULL,
    report       JSONB NOT NULL
);
CREATE INDEX idx_slo_reports_generated_at ON slo_reports (generated_at DESC);
