package workflows

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestDLQRemediationReplaysRecordedHistory replays a run recorded against the
// real dev server (healthy Moogsoft, one entry replayed and one parked per
// DLQ stage; see TestDLQRemediationWorkflowEndToEnd in activities). A change
// of the workflow that would break running executions fails here: make it
// with workflow.GetVersion, then re-record.
//
// dlq_remediation_history_v0.json is a run from before the outcome memo
// (workflow.GetVersion "dlq-outcome-memo"): such runs must still replay.
func TestDLQRemediationReplaysRecordedHistory(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"testdata/dlq_remediation_history.json", "testdata/dlq_remediation_history_v0.json"} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(DLQRemediationWorkflow, workflow.RegisterOptions{Name: "DLQRemediationWorkflow"})
		require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(
			tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), f), f)
	}
}
