package workflows

import "go.temporal.io/sdk/workflow"

// TaskQueue is the queue every MUTT workflow and activity runs on.
const TaskQueue = "mutt-ops"

// Registry is what a worker offers to register workflows (worker.Worker satisfies it).
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// Register registers every MUTT workflow under its type name.
func Register(r Registry) {
	for name, fn := range map[string]any{
		"PartitionMaintenanceWorkflow": PartitionMaintenanceWorkflow,
		"RetentionWorkflow":            RetentionWorkflow,
		"DLQRemediationWorkflow":       DLQRemediationWorkflow,
		"SLOReportWorkflow":            SLOReportWorkflow,
		"SecretRotationWorkflow":       SecretRotationWorkflow,
	} {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}
