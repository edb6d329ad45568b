package rules_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEngineIsPure: the rule engine does no I/O, so its matching semantics
// can be tested and benchmarked without any server. The package boundary
// keeps hotpath/alert's loop out; this keeps I/O packages out of what the
// engine links, directly or through a dependency. os and time are linked
// through fmt and encoding/json but the engine itself imports neither: it
// reads no files and no clock.
func TestEngineIsPure(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/mutt-ops/mutt/internal/event", "go list -deps works and sees mutt's own packages")
	for _, p := range deps {
		first, _, _ := strings.Cut(p, "/")
		if strings.Contains(first, ".") { // not the standard library
			require.True(t, strings.HasPrefix(p, "github.com/mutt-ops/mutt/internal/"),
				"the engine links %s: only the standard library and mutt's internal packages", p)
			continue
		}
		io := p == "net" || strings.HasPrefix(p, "net/") || strings.HasPrefix(p, "database/") ||
			p == "os/exec" || p == "os/signal" || p == "crypto/tls" || p == "log" || p == "log/slog"
		require.False(t, io, "the engine links the I/O package %s", p)
	}

	out, err = exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, p := range strings.Fields(string(out)) {
		require.NotContains(t, []string{"os", "time", "io/fs", "syscall"}, p, "the engine imports %s", p)
	}
}
