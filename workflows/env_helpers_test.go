package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// stubEnv is a test-suite environment with the workflow wf registered under
// name and the activities of acts under their names (map keys), so tests
// mock them by name: the workflows package never sees the real ones.
func stubEnv(t *testing.T, name string, wf any, acts map[string]any) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: name})
	for act, fn := range acts {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: act})
	}
	return env
}

// notMocked is a stand-in activity taking In that fails until a test mocks it.
func notMocked[In, Out any]() func(context.Context, In) (Out, error) {
	return func(context.Context, In) (Out, error) {
		var zero Out
		return zero, errors.New("not mocked")
	}
}
