package workflows

import "testing"

// TestRetentionReplaysRecordedHistory replays a run recorded against the
// Temporal dev server (TestRetentionAgainstRealServers in the activities
// package, with MUTT_UPDATE_HISTORIES=1): a change to the workflow that is not
// replay-safe fails here. The run moved two whole partitions, archived the
// rest in batches and purged both tables.
func TestRetentionReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	replayRecorded(t, "retention_history.json")
}
