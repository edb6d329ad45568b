package workflows

import "testing"

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
	for _, f := range []string{"dlq_remediation_history.json", "dlq_remediation_history_v0.json"} {
		replayRecorded(t, f)
	}
}
