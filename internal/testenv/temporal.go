package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// TemporalAddress is the dev server tests use (TEST_TEMPORAL_ADDRESS; `make
// test` starts one on 127.0.0.1:17233 with scripts/ensure-temporal.sh).
func TemporalAddress() string {
	if a := os.Getenv("TEST_TEMPORAL_ADDRESS"); a != "" {
		return a
	}
	return "127.0.0.1:17233"
}

// Temporal returns a client of the test dev server (namespace "default") and
// a task queue unique to this test. Give workflow and schedule IDs a unique
// prefix too (the returned queue name is one).
func Temporal(t testing.TB) (client.Client, string) {
	t.Helper()
	NeedsServices(t, "the Temporal test server")
	c, err := client.Dial(client.Options{HostPort: TemporalAddress(), Logger: nopLogger{}})
	require.NoError(t, err, "temporal dev server must run (make test starts it)")
	t.Cleanup(c.Close)
	return c, "test-" + uuid.NewString()[:12]
}

// nopLogger keeps the SDK quiet in test output.
type nopLogger struct{}

func (nopLogger) Debug(string, ...interface{}) {}
func (nopLogger) Info(string, ...interface{})  {}
func (nopLogger) Warn(string, ...interface{})  {}
func (nopLogger) Error(string, ...interface{}) {}

// WorkflowHistory is the full history of a run (wait for its result first).
func WorkflowHistory(t testing.TB, c client.Client, run client.WorkflowRun) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	require.NotEmpty(t, h.Events)
	return h
}
