package test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
)

// TestReadmeDocumentsEveryDynamicKey keeps the README's dynamic config table in
// step with the registry.
func TestReadmeDocumentsEveryDynamicKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, k := range dynconfig.Keys() {
		require.Contains(t, string(readme), "| `"+k.Name+"`", "README configuration table lacks %s", k.Name)
	}
}
