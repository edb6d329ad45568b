-- Rule conditions on the syslog fields the native receivers (and HTTP clients
-- that send them) put on the envelope: app_name (APP-NAME / tag, compared
-- case-insensitively) and facility (0-23). Both optional; NULL means "any".
-- A contains rule may leave match_string empty when it has one of them, so
-- "every sshd message of facility auth" needs no made-up text to match.
ALTER TABLE alert_rules
    ADD COLUMN app_name VARCHAR(255) CHECK (app_name <> ''),
    ADD COLUMN facility INT CHECK (facility BETWEEN 0 AND 23),
    DROP CONSTRAINT chk_match_criteria,
    ADD CONSTRAINT chk_match_criteria CHECK (
        (match_type = 'oid_prefix' AND trap_oid IS NOT NULL AND trap_oid <> '')
        OR (match_type = 'regex' AND match_string IS NOT NULL AND match_string <> '')
        OR (match_type = 'contains' AND ((match_string IS NOT NULL AND match_string <> '')
                                         OR app_name IS NOT NULL OR facility IS NOT NULL)));
