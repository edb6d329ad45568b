package workflows

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestPartitionMaintenanceReplaysRecordedHistory replays a run recorded against
// the Temporal dev server (TestPartitionMaintenanceAgainstRealServers in the
// activities package, with MUTT_UPDATE_HISTORIES=1): a change to the workflow
// that is not replay-safe fails here. The run moved rows out of DEFAULT for
// three months and created six partitions.
func TestPartitionMaintenanceReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	r := worker.NewWorkflowReplayer()
	Register(r)
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(
		tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), "testdata/partition_history.json"))
}
