-- 0007: a rule's handling is one of four words, stored in one spelling: the
-- engine's lower case (page_and_ticket, page_only, ticket_only, ignore). The
-- Python MUTT's seed wrote "Page_and_ticket", "Ticket_only", "Ignore"; the
-- alerter always compared lower-cased, so nothing matches differently. The
-- API accepts any case from now on and stores the lower-case word.
--
-- Rows whose handling is one of the four words in another case (or with
-- blanks around it) are rewritten, with version + 1 (an editor holding the
-- old version reloads) and a config_audit_log UPDATE row (changed_by
-- 'migration:0007'). A word that is none of the four is left as it is: the
-- engine treats it as ignore, and the API asks for one of the four on the
-- rule's next edit.

WITH changed AS (
    UPDATE alert_rules r
    SET prod_handling = CASE WHEN lower(btrim(r.prod_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
                             THEN lower(btrim(r.prod_handling)) ELSE r.prod_handling END,
        dev_handling  = CASE WHEN lower(btrim(r.dev_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
                             THEN lower(btrim(r.dev_handling)) ELSE r.dev_handling END,
        version = r.version + 1,
        updated_at = now()
    FROM alert_rules old
    WHERE old.id = r.id
      AND ((lower(btrim(r.prod_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
            AND r.prod_handling <> lower(btrim(r.prod_handling)))
        OR (lower(btrim(r.dev_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
            AND r.dev_handling <> lower(btrim(r.dev_handling))))
    RETURNING r.id, to_jsonb(old) AS old_values, to_jsonb(r) AS new_values
)
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason)
SELECT 'migration:0007', 'UPDATE', 'alert_rules', id::text, old_values, new_values,
       'handling stored in its one lower-case spelling'
FROM changed;
