package telemetry_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/telemetry"
)

// TestRepeatedErrorLinesAreFolded: a failing dependency makes every request
// log the same error; the log gets the first line at once, then one line per
// window with how many were folded, while info lines and a different error
// pass untouched.
func TestRepeatedErrorLinesAreFolded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b bytes.Buffer
		log := telemetry.NewLogger(&b, "text", "info").With("component", "ingestor")
		lines := func() []string { return strings.Split(strings.TrimSpace(b.String()), "\n") }
		refused := errors.New(`redis user "mutt" does not exist or its password was refused`)

		for i := range 100 {
			log.Error("enqueue failed", "err", refused, "correlation_id", i)
			log.Info("request", "n", i)
		}
		got := lines()
		require.Len(t, got, 101, "one error line and every info line")
		require.Contains(t, got[0], "correlation_id=0")

		log.Error("enqueue failed", "err", errors.New("another error"))
		log.Error("backlog check failed", "err", refused)
		require.Len(t, lines(), 103, "a different error or message is a line of its own")

		time.Sleep(telemetry.DedupWindow + time.Second)
		got = lines()
		require.Len(t, got, 104, "one summary line at the end of the window")
		require.Contains(t, got[103], "repeated=99")
		require.Contains(t, got[103], "correlation_id=99", "the summary carries the last line's attributes")
		require.Contains(t, got[103], "component=ingestor")

		// Still failing: one line per window.
		for i := range 50 {
			log.Error("enqueue failed", "err", refused, "correlation_id", 100+i)
		}
		require.Len(t, lines(), 104)
		time.Sleep(telemetry.DedupWindow)
		require.Len(t, lines(), 105)
		require.Contains(t, lines()[104], "repeated=50")

		// Recovered, then failing again later: the first line is written at once.
		time.Sleep(3 * telemetry.DedupWindow)
		log.Error("enqueue failed", "err", refused, "correlation_id", "again")
		require.Len(t, lines(), 106)
		require.NotContains(t, lines()[105], "repeated")
	})
}

// TestDedupKeepsLevelsApart: a warning and an error with the same text are
// two lines.
func TestDedupKeepsLevelsApart(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(telemetry.NewDedupHandler(slog.NewTextHandler(&b, nil), time.Minute))
	log.Warn("x", "err", "e")
	log.Error("x", "err", "e")
	log.Warn("x", "err", "e")
	require.Equal(t, 2, strings.Count(b.String(), "\n"))
}
