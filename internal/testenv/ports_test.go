package testenv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestFreeAddrNeverHandsOutAPortTwice asks for many ports before any is
// bound, as parallel tests do between choosing their ports and starting their
// servers: each must be distinct. (Picking at random among 12,000 ports
// without reservations repeats one within a few hundred picks.)
func TestFreeAddrNeverHandsOutAPortTwice(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 600 {
		addr := testenv.FreeAddr(t)
		require.False(t, seen[addr], "FreeAddr handed out %s twice", addr)
		seen[addr] = true
	}
}
