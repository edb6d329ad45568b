package workflows

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestSecretRotationReplaysRecordedHistory replays a Redis rotation recorded
// against the real dev server (see TestSecretRotationWorkflowEndToEnd in
// activities). A change of the workflow that would break running rotations
// fails here: make it with workflow.GetVersion, then re-record.
func TestSecretRotationReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(SecretRotationWorkflow, workflow.RegisterOptions{Name: "SecretRotationWorkflow"})
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(
		tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), "testdata/secret_rotation_redis_history.json"))
}
