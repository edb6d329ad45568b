package testenv

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/jsonenc"
	"github.com/mutt-ops/mutt/internal/stream"
)

// Queued is the message of every entry of streams, in stream order and
// streams' order, an entry that holds several (a JSON array, ADR 0048) split
// into them: what a reader of the ingest streams will process.
func Queued(t testing.TB, rdb redis.Cmdable, streams ...string) []string {
	t.Helper()
	var out []string
	for _, s := range streams {
		msgs, err := rdb.XRange(context.Background(), s, "-", "+").Result()
		require.NoError(t, err)
		for _, m := range msgs {
			out = append(out, Messages(m.Values[stream.Field])...)
		}
	}
	return out
}

// Messages splits the Field of one entry into its messages (see Queued).
func Messages(field any) []string {
	d, _ := field.(string)
	start := jsonenc.SkipSpace([]byte(d), 0)
	if start == len(d) || d[start] != '[' {
		return []string{d}
	}
	var out []string
	jsonenc.EachElement([]byte(d[start:]), func(_ int, val []byte) bool {
		out = append(out, string(val))
		return true
	})
	return out
}
