package alert

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestCopyAuditWritesWhatTheInsertWrites: the binary COPY the alerter
// encodes itself stores every column as the INSERT fallback stores the same
// row — NULLs, times before and after PostgreSQL's epoch to the
// microsecond, text beyond ASCII — so a COPY that PostgreSQL accepted
// wrote what an operator expects, and one it would refuse for a wrong
// encoding would fail this test instead of falling back silently.
func TestCopyAuditWritesWhatTheInsertWrites(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.newAlerter(t, r.db, "copy-audit").a
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 7, 8, 9, 123456789, time.UTC)
	rows := func() *auditRows {
		return &auditRows{
			eventID:        [][16]byte{uuid.New(), uuid.New(), uuid.New()},
			eventTimestamp: []time.Time{at, time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), at.Add(-time.Hour)},
			receivedAt:     []time.Time{at.Add(time.Second), at, time.Unix(0, 1000).UTC()},
			hostname:       []string{"router1.prod.example.com", "rtr-é-ü-日本", "h"},
			ruleID:         []int64{7, 2147483647, 0},
			handling:       []string{"Page_and_ticket", "Ignore", "Unhandled"},
			forwarded:      []bool{true, false, false},
			team:           []string{"NETO", "", "T"},
			environment:    []string{"prod", "dev", ""},
			correlationID:  []string{"corr-1", "", "c"},
			raw:            [][]byte{[]byte(`{"hostname":"router1","message":"Link down"}`), nil, []byte(`"x"`)},
			item:           []int{0, 1, 2},
		}
	}
	copied, inserted := rows(), rows()
	for i := range inserted.eventID {
		inserted.eventID[i] = uuid.New()
	}
	require.NoError(t, a.copyAudit(ctx, copied))
	require.NoError(t, a.execAudit(ctx, inserted, 0, inserted.len()))

	got := readAudit(t, r.db)
	require.Len(t, got, 6)
	for i := range copied.eventID {
		c, in := got[uuid.UUID(copied.eventID[i]).String()], got[uuid.UUID(inserted.eventID[i]).String()]
		require.Len(t, c, 1, "row %d copied", i)
		require.Len(t, in, 1, "row %d inserted", i)
		c[0].EventID = in[0].EventID
		require.Equal(t, in[0], c[0], "row %d", i)
		require.True(t, c[0].EventTimestamp.Equal(copied.eventTimestamp[i].Truncate(time.Microsecond)), "row %d", i)
	}
}
