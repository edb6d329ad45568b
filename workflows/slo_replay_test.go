package workflows

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestSLOReportWorkflowReplay replays a history recorded on the Temporal dev
// server (by TestSLOReportWorkflowAgainstRealPrometheus in activities, with
// MUTT_RECORD_SLO_HISTORY=1): a change to SLOReportWorkflow that would break
// running workflows (other activities, another order) fails here.
func TestSLOReportWorkflowReplay(t *testing.T) {
	t.Parallel()
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(SLOReportWorkflow, workflow.RegisterOptions{Name: "SLOReportWorkflow"})
	err := replayer.ReplayWorkflowHistoryFromJSONFile(log.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		filepath.Join("testdata", "slo_report_history.json"))
	require.NoError(t, err)
}
