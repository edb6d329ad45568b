package workflows

import "testing"

// TestSecretRotationReplaysRecordedHistory replays a Redis rotation recorded
// against the real dev server (see TestSecretRotationWorkflowEndToEnd in
// activities). A change of the workflow that would break running rotations
// fails here: make it with workflow.GetVersion, then re-record.
func TestSecretRotationReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	replayRecorded(t, "secret_rotation_redis_history.json")
}
