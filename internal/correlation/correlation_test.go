package correlation_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/correlation"
)

var generated = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestFromHeader(t *testing.T) {
	for _, ok := range []string{"abc", "A-b_c.d:e", strings.Repeat("x", 64), "0af7651916cd43dd8448eb211c80319c",
		"5f0c7c3e-1d2b-4c39-9b1a-0d6f1e2a3b4c"} {
		require.True(t, correlation.Valid(ok), ok)
		require.Equal(t, ok, correlation.FromHeader(ok))
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "é", "a\nb", "<script>", "a\x00"} {
		require.False(t, correlation.Valid(bad), bad)
		got := correlation.FromHeader(bad)
		require.Regexp(t, generated, got)
	}
	require.NotEqual(t, correlation.New(), correlation.New())
}

// FuzzFromHeader: whatever a client sends, the id used is valid, and a valid
// one is kept.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", strings.Repeat("y", 65), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := correlation.FromHeader(h)
		require.True(t, correlation.Valid(got))
		if correlation.Valid(h) {
			require.Equal(t, h, got)
		} else {
			require.Regexp(t, generated, got)
		}
	})
}
