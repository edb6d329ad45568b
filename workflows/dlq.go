package workflows

import "go.temporal.io/sdk/workflow"

// DLQRemediationWorkflow is a placeholder replaced by its real definition.
func DLQRemediationWorkflow(ctx workflow.Context) error { return nil }
