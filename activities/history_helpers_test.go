package activities

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/workflows"
)

// replayHistory replays a recorded run against the current workflow code: a
// change that is not replay-safe fails here.
func replayHistory(t *testing.T, h *historypb.History) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	require.NoError(t, r.ReplayWorkflowHistory(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h))
}

// recordHistory writes h as the fixture file of a workflows replay test.
func recordHistory(t *testing.T, h *historypb.History, file string) {
	t.Helper()
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
	require.NoError(t, os.WriteFile(file, append(raw, '\n'), 0o644))
	t.Logf("recorded %s (%d events)", file, len(h.Events))
}
