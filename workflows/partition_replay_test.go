package workflows

import "testing"

// TestPartitionMaintenanceReplaysRecordedHistory replays a run recorded against
// the Temporal dev server (TestPartitionMaintenanceAgainstRealServers in the
// activities package, with MUTT_UPDATE_HISTORIES=1): a change to the workflow
// that is not replay-safe fails here. The run moved rows out of DEFAULT for
// three months and created six partitions.
func TestPartitionMaintenanceReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	replayRecorded(t, "partition_history.json")
}
