package workflows

import "testing"

// TestSLOReportWorkflowReplay replays a history recorded on the Temporal dev
// server (by TestSLOReportWorkflowAgainstRealPrometheus in activities, with
// MUTT_RECORD_SLO_HISTORY=1): a change to SLOReportWorkflow that would break
// running workflows (other activities, another order) fails here.
func TestSLOReportWorkflowReplay(t *testing.T) {
	t.Parallel()
	replayRecorded(t, "slo_report_history.json")
}
