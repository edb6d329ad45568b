package ingest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
)

// TestClockOffsetShiftsTheStamp: MUTT_TEST_CLOCK_OFFSET (ADR 0041) makes an
// ingestor stamp received_at as a replica whose clock is that far off would;
// the event's own timestamp (required by the contract) is kept.
func TestClockOffsetShiftsTheStamp(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 31, 23, 55, 0, 0, time.UTC)
	e := newEnv(t, setup{now: func() time.Time { return at }, cfg: ingest.Config{ClockOffset: 10 * time.Minute}})
	r := e.post(t, `[{"hostname":"h","message":"a","timestamp":"2026-12-31T23:54:00Z"},{"hostname":"h","message":"b","timestamp":"2026-12-31T23:54:00Z"}]`)
	require.Equal(t, http.StatusOK, r.code, r.raw)
	got := e.stored(t)
	require.Len(t, got, 2)
	for _, g := range got {
		require.True(t, g.ReceivedAt.Equal(at.Add(10*time.Minute)), "received_at %s", g.ReceivedAt)
	}
	require.True(t, got[1].Timestamp.Equal(time.Date(2026, 12, 31, 23, 54, 0, 0, time.UTC)), "the event's own time is kept")
}
