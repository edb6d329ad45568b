package workflows

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// replayRecorded replays testdata/<file>, a history recorded against the
// Temporal dev server by the activities' end-to-end test, with the current
// workflow code: a change that is not replay-safe fails here.
func replayRecorded(t *testing.T, file string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	Register(r)
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(
		tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), filepath.Join("testdata", file)), file)
}
