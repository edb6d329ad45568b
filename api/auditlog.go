package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
)

// AuditEntry is one config_audit_log row. Old is nil for a CREATE and New is
// nil for a DELETE; both are stored as JSON so the audit page can diff them.
type AuditEntry struct {
	ChangedBy     string
	Operation     string // CREATE, UPDATE or DELETE (the table's CHECK rejects anything else)
	TableName     string
	RecordID      string
	Reason        string
	CorrelationID string
	Old, New      any
}

const insertConfigAuditSQL = `
INSERT INTO config_audit_log
    (changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), NULLIF($8, ''))`

// writeConfigAudit inserts the audit row inside the caller's transaction, so a
// failed audit fails (rolls back) the change it describes.
func writeConfigAudit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	oldJSON, err := auditJSON(e.Old)
	if err != nil {
		return fmt.Errorf("encode old values of %s/%s: %w", e.TableName, e.RecordID, err)
	}
	newJSON, err := auditJSON(e.New)
	if err != nil {
		return fmt.Errorf("encode new values of %s/%s: %w", e.TableName, e.RecordID, err)
	}
	if _, err := tx.Exec(ctx, insertConfigAuditSQL, e.ChangedBy, e.Operation, e.TableName, e.RecordID,
		oldJSON, newJSON, e.Reason, e.CorrelationID); err != nil {
		return fmt.Errorf("write config audit for %s/%s: %w", e.TableName, e.RecordID, err)
	}
	return nil
}

// WriteAudit inserts e inside tx, for operator tools that change state
// outside the API (muttdev dlq purge): the change and its audit row commit
// together, as the API's own writes do.
func WriteAudit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	return writeConfigAudit(ctx, tx, e)
}

// auditJSON returns nil (SQL NULL) for a missing side of the change.
func auditJSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.(json.RawMessage); ok {
		return b, nil
	}
	return json.Marshal(v)
}

// publishRulesUpdate tells every alerter to reload rules, dev hosts and teams.
// It runs after commit, so the change stands even if the publish fails; the
// error is dropped on purpose because alerters also reload on their
// cache_reload_interval.
func publishRulesUpdate(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys) {
	if rdb == nil {
		return
	}
	_ = rdb.Publish(ctx, keys.RulesUpdates(), "reload").Err()
}
