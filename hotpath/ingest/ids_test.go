package ingest

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestV7SourceMakesOrderedV7IDs: every id is a version 7, RFC 9562 variant
// UUID with the clock's milliseconds, written as uuid.UUID.String writes
// it; ids only grow, within a request and across requests, also when the
// clock stands still or steps back and when a request holds more ids than
// a millisecond's 4096 sequence numbers.
func TestV7SourceMakesOrderedV7IDs(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.UTC)
	clock := at
	g := &v7Source{now: func() time.Time { return clock }}
	var random []byte
	var prev uuid.UUID
	for _, n := range []int{1, 3, 5000, 2, 1} {
		ids := make([]uuid.UUID, n)
		require.NoError(t, g.fill(ids, &random))
		for _, id := range ids {
			require.Equal(t, uuid.Version(7), id.Version())
			require.Equal(t, uuid.RFC4122, id.Variant())
			require.Equal(t, id.String(), string(appendUUID(nil, id)))
			require.Positive(t, bytes.Compare(id[:], prev[:]), "%s after %s", id, prev)
			prev = id
		}
		ms := int64(binary.BigEndian.Uint64(append([]byte{0, 0}, ids[0][:6]...)))
		require.GreaterOrEqual(t, ms, at.UnixMilli(), "the clock's milliseconds, or later")
		require.Less(t, ms, at.UnixMilli()+10)
		clock = clock.Add(-time.Second) // stepping back changes nothing
	}
	seen := map[uuid.UUID]bool{}
	ids := make([]uuid.UUID, 1000)
	require.NoError(t, g.fill(ids, &random))
	for _, id := range ids {
		require.False(t, seen[id])
		seen[id] = true
	}
	require.NotEqual(t, ids[0][8:], ids[1][8:], "random bits")
}
