package alert

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHealthReportsAStuckAuditWrite: a PostgreSQL that answers its ping but
// cannot write audit rows — a full disk, SQLSTATE 53100, simulated by a
// trigger raising it — holds every batch. The alerter retries without
// dead-lettering, and /health's "batches" check names the step and the
// error until the write succeeds again; then everything is audited once.
func TestHealthReportsAStuckAuditWrite(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	_, err := r.db.Exec(ctx, `CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device' USING ERRCODE = 'disk_full'; END $$;
		CREATE TRIGGER disk_full BEFORE INSERT ON event_audit_log FOR EACH STATEMENT EXECUTE FUNCTION disk_full()`)
	require.NoError(t, err)
	in := r.newAlerter(t, r.db, "alerter-health")
	in.a.steps.after = 0 // report at the first failure
	require.NoError(t, in.a.Health(ctx))
	in.start(t)

	env := newEnvelope("router1.prod.example.com", "LINK-DOWN while the disk is full")
	r.enqueue(t, env)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		err := in.a.Health(ctx)
		if assert.Error(c, err) {
			assert.Contains(c, err.Error(), "batch step audit failing")
			assert.Contains(c, err.Error(), "No space left on device")
		}
	}, wait, 10*time.Millisecond)
	require.Empty(t, r.deadLetters(t), "a full disk dead-letters nothing")

	_, err = r.db.Exec(ctx, `DROP TRIGGER disk_full ON event_audit_log`)
	require.NoError(t, err)
	r.drained(t)
	require.NoError(t, in.a.Health(ctx), "healthy again once the write succeeds")
	require.Len(t, readAudit(t, r.db)[env.EventID], 1)
}
