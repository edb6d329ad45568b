package workflows

import "go.temporal.io/sdk/workflow"

// RetentionWorkflow is a placeholder replaced by its real definition.
func RetentionWorkflow(ctx workflow.Context) error { return nil }
