package workflows

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestRetentionReplaysRecordedHistory replays a run recorded against the
// Temporal dev server (TestRetentionAgainstRealServers in the activities
// package, with MUTT_UPDATE_HISTORIES=1): a change to the workflow that is not
// replay-safe fails here. The run moved two whole partitions, archived the
// rest in batches and purged both tables.
func TestRetentionReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	r := worker.NewWorkflowReplayer()
	Register(r)
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(
		tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), "testdata/retention_history.json"))
}
