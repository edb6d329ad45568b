package moogsim

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

// The body is read whole whatever Content-Length announced: more, less or
// nothing, and a reader that hands out a byte at a time.
func TestReadBodyReadsToTheEnd(t *testing.T) {
	t.Parallel()
	body := []byte(strings.Repeat("0123456789", 100))
	for _, n := range []int64{-1, 0, 1, 999, 1000, 1001, 5000} {
		got, err := readBody(bytes.NewReader(body), n)
		require.NoError(t, err, n)
		require.Equal(t, body, got, n)
		got, err = readBody(iotest.OneByteReader(bytes.NewReader(body)), n)
		require.NoError(t, err, n)
		require.Equal(t, body, got, n)
	}
	_, err := readBody(iotest.ErrReader(iotest.ErrTimeout), 10)
	require.ErrorIs(t, err, iotest.ErrTimeout)
}

// Events kept from a body they are most of stay slices of it; a few kept
// from a large body are copied, and read back the same either way.
func TestKeptEventsReadBackAsSent(t *testing.T) {
	t.Parallel()
	for _, keep := range []int{2, 10} {
		s := New(Options{Keep: keep})
		var body strings.Builder
		body.WriteString(`{"events":[`)
		for i := range 10 {
			if i > 0 {
				body.WriteByte(',')
			}
			body.WriteString(`{"external_id":"e` + strconv.Itoa(i) + `","n":` + strconv.Itoa(i) + `}`)
		}
		body.WriteString(`]}`)
		b := []byte(body.String())
		sc := s.getScratch()
		require.NoError(t, sc.p.parse(b))
		s.record(sc, b, time.Now())
		s.putScratch(sc)
		events := s.Events()
		require.Len(t, events, keep)
		for i, ev := range events {
			n := 10 - keep + i
			require.Equal(t, map[string]any{"external_id": "e" + strconv.Itoa(n), "n": float64(n)}, ev)
		}
		first := &b[bytes.Index(b, []byte(`{"external_id":"e`+strconv.Itoa(10-keep)+`"`))]
		if keep == 10 {
			require.Same(t, first, &s.lastLocked()[0][0], "all of the body is kept: no copy")
		} else {
			require.NotSame(t, first, &s.lastLocked()[0][0], "a fifth of the body is kept: copied")
		}
	}
}
