package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// runMemo records the memo a run sets (through the test environment's
// UpsertMemo mock); get returns it as a reader of the run would decode it.
type runMemo struct {
	mu    sync.Mutex
	calls int
	memo  map[string]any
}

func recordMemo(env *testsuite.TestWorkflowEnvironment) *runMemo {
	m := &runMemo{}
	env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls++
		m.memo = args.Get(0).(map[string]any)
	}).Return(nil)
	return m
}

// get is the memo set by the run, decoded from JSON as the console reads it:
// its outcome line and its counts. A run sets its memo exactly once.
func (m *runMemo) get(t *testing.T) (string, map[string]int64) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.Equal(t, 1, m.calls, "the run sets its memo once")
	b, err := json.Marshal(m.memo)
	require.NoError(t, err)
	var out struct {
		Outcome string           `json:"outcome"`
		Counts  map[string]int64 `json:"counts"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	require.NotEmpty(t, out.Outcome)
	return out.Outcome, out.Counts
}

func TestFailedOutcomeSaysWhatFailedWithoutTheSDKWrapping(t *testing.T) {
	t.Parallel()
	act := temporal.NewApplicationError("table exists", ErrTypePartitionConflict)
	require.Equal(t, "failed: table exists", failedOutcome(act))
	require.Equal(t, "failed: read the worker's policy: boom", failedOutcome(fmt.Errorf("read the worker's policy: %w", errors.New("boom"))))
}

func TestOutcomeMemoIsBounded(t *testing.T) {
	t.Parallel()
	env := partitionTestEnv(t)
	memo := recordMemo(env)
	env.OnActivity(ActivityPartitionInspect, mock.Anything, mock.Anything).Return(PartitionInspectResult{},
		temporal.NewNonRetryableApplicationError(strings.Repeat("é", 2000), ErrTypePartitionConflict, nil))
	env.ExecuteWorkflow(PartitionMaintenanceWorkflow, PartitionInput{AdvanceMonths: 1})
	require.Error(t, env.GetWorkflowError())
	line, _ := memo.get(t)
	require.LessOrEqual(t, len(line), maxOutcomeLen+len("…"))
	require.True(t, strings.HasPrefix(line, "failed: inspect partitions: éé"), line)
	require.True(t, strings.HasSuffix(line, "é…"), line)
}
