-- 0004: a rule's handling is one of four words, stored in one spelling: the
-- Python MUTT's, first letter upper and the rest lower (Page_and_ticket,
-- Page_only, Ticket_only, Ignore). That is what its seed, docs and tests
-- wrote, and what operators coming from it have in rules, audit rows,
-- dashboards and SQL. The engine compares lower-cased, so nothing matches
-- differently; the API accepts any case and stores this spelling.
--
-- Rows whose handling is one of the four words in another case (or with
-- blanks around it) are rewritten, with version + 1 (an editor holding the
-- old version reloads) and a config_audit_log UPDATE row (changed_by
-- 'migration:0004'). A word that is none of the four is left as it is: the
-- engine treats it as ignore, and the API asks for one of the four on the
-- rule's next edit.

WITH changed AS (
    UPDATE alert_rules r
    SET prod_handling = CASE WHEN lower(btrim(r.prod_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
                             THEN upper(left(btrim(r.prod_handling), 1)) || lower(substr(btrim(r.prod_handling), 2))
                             ELSE r.prod_handling END,
        dev_handling  = CASE WHEN lower(btrim(r.dev_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
                             THEN upper(left(btrim(r.dev_handling), 1)) || lower(substr(btrim(r.dev_handling), 2))
                             ELSE r.dev_handling END,
        version = r.version + 1,
        updated_at = now()
    FROM alert_rules old
    WHERE old.id = r.id
      AND ((lower(btrim(r.prod_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
            AND r.prod_handling <> upper(left(btrim(r.prod_handling), 1)) || lower(substr(btrim(r.prod_handling), 2)))
        OR (lower(btrim(r.dev_handling)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
            AND r.dev_handling <> upper(left(btrim(r.dev_handling), 1)) || lower(substr(btrim(r.dev_handling), 2))))
    RETURNING r.id, to_jsonb(old) AS old_values, to_jsonb(r) AS new_values
)
INSERT INTO config_audit_log (changed_by, operation, table_name, record_id, old_values, new_values, reason)
SELECT 'migration:0004', 'UPDATE', 'alert_rules', id::text, old_values, new_values,
       'handling stored in its one spelling, the Python MUTT''s (Page_and_ticket)'
FROM changed;
