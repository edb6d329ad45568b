package stream

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendXRead writes entries as Redis answers XREADGROUP of one stream, in
// RESP2 (resp3 false) or RESP3.
func appendXRead(dst []byte, name string, entries []Entry, resp3 bool) []byte {
	bulk := func(dst []byte, s string) []byte { return fmt.Appendf(dst, "$%d\r\n%s\r\n", len(s), s) }
	if resp3 {
		dst = append(dst, "%1\r\n"...)
	} else {
		dst = append(dst, "*1\r\n*2\r\n"...)
	}
	dst = bulk(dst, name)
	dst = fmt.Appendf(dst, "*%d\r\n", len(entries))
	for _, e := range entries {
		dst = append(dst, "*2\r\n"...)
		dst = bulk(dst, e.ID)
		fields := 2
		if e.Replays > 0 {
			fields += 2
		}
		if e.Events > 1 {
			fields += 2
		}
		dst = fmt.Appendf(dst, "*%d\r\n", fields)
		if e.Replays > 0 {
			dst = bulk(dst, ReplaysField)
			dst = bulk(dst, fmt.Sprint(e.Replays))
		}
		if e.Events > 1 {
			dst = bulk(dst, EventsField)
			dst = bulk(dst, fmt.Sprint(e.Events))
		}
		dst = bulk(dst, Field)
		dst = bulk(dst, string(e.Data))
	}
	return dst
}

func TestParseXRead(t *testing.T) {
	t.Parallel()
	entries := []Entry{
		{ID: "1-0", Stream: "s", Data: []byte(`{"n":0}`), Deliveries: 1, Events: 1},
		{ID: "1700000000000-12", Stream: "s", Data: []byte("a\r\nb$3\r\n"), Deliveries: 1, Replays: 3, Events: 1},
		{ID: "2-0", Stream: "s", Data: []byte{}, Deliveries: 1, Events: 1},
		{ID: "3-0", Stream: "s", Data: []byte(`[{},{}]`), Deliveries: 1, Replays: 1, Events: 2},
	}
	for _, resp3 := range []bool{false, true} {
		got, err := parseXRead(appendXRead(nil, "s", entries, resp3), "s")
		require.NoError(t, err)
		require.Equal(t, entries, got)
	}
	for _, raw := range []string{"*-1\r\n", "_\r\n", "-NOGROUP No such key\r\n", "-MOVED 1 127.0.0.1:7000\r\n"} {
		_, err := parseXRead([]byte(raw), "s")
		require.ErrorIs(t, err, errNotEntries, "%q", raw)
	}
	for _, raw := range []string{"", "*1\r\n", "*2\r\n", "+OK\r\n", ":1\r\n", "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$1\r\n1\r\n*1\r\n$1\r\nd\r\n",
		"*1\r\n*2\r\n$1\r\ns\r\n*0\r\nx", "*1\r\n*2\r\n$9\r\ns\r\n*0\r\n", "*99999999999999999999\r\n"} {
		_, err := parseXRead([]byte(raw), "s")
		require.ErrorIs(t, err, errBadReply, "%q", raw)
	}
	// A map of fields, and a nil one (an entry deleted while pending).
	got, err := parseXRead([]byte("%1\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n%1\r\n$1\r\nd\r\n$2\r\nhi\r\n*2\r\n$3\r\n1-2\r\n*-1\r\n"), "s")
	require.NoError(t, err)
	require.Equal(t, []Entry{{ID: "1-1", Stream: "s", Data: []byte("hi"), Deliveries: 1, Events: 1},
		{ID: "1-2", Stream: "s", Data: []byte{}, Deliveries: 1, Events: 1}}, got)
}

// FuzzParseXRead: any reply is refused or read without panicking, and what
// is read reads back the same when written again.
func FuzzParseXRead(f *testing.F) {
	f.Add(appendXRead(nil, "s", []Entry{{ID: "1-0", Data: []byte(`{"n":0}`)}, {ID: "2-0", Data: []byte("x"), Replays: 2}}, false))
	f.Add(appendXRead(nil, "s", []Entry{{ID: "1-0", Data: []byte(`{}`), Replays: 1}}, true))
	f.Add(appendXRead(nil, "s", []Entry{{ID: "1-0", Data: []byte(`[{},{}]`), Events: 2}}, false))
	f.Add([]byte("*-1\r\n"))
	f.Add([]byte("%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n%1\r\n$1\r\nd\r\n$2\r\nhi\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseXRead(raw, "s")
		if err != nil {
			require.Empty(t, got)
			return
		}
		for _, resp3 := range []bool{false, true} {
			again, err := parseXRead(appendXRead(nil, "s", got, resp3), "s")
			require.NoError(t, err)
			for i := range again {
				if again[i].Replays < 0 || got[i].Replays < 0 {
					// Written only when positive.
					again[i].Replays, got[i].Replays = 0, 0
				}
			}
			require.Equal(t, got, again)
		}
	})
}
