package test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestRsyslogExampleIsValid checks deploy/rsyslog's relay config with
// rsyslogd's own validation (scripts/ensure-services.sh --test installs it).
func TestRsyslogExampleIsValid(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "rsyslogd")
	out, err := exec.Command("rsyslogd", "-N1", "-f", "../deploy/rsyslog/mutt-relay.conf").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "End of config validation run")
	require.NotContains(t, strings.ToLower(string(out)), "error")
}
