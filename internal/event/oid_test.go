package event

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeOID(t *testing.T) {
	for in, want := range map[string]string{
		"1.3.6.1.6.3.1.1.5.3": "1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.4.1.9": "1.3.6.1.4.1.9", "0": "0",
		"": "", ".": "", "1..3": "", "1.3.": "", "1.3.x": "", "..1.3": "", " 1.3": "",
	} {
		got, ok := NormalizeOID(in)
		require.Equal(t, want != "", ok, in)
		if ok {
			require.Equal(t, want, got, in)
		}
	}
}
