package syslog_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestRsyslogRelayExample runs rsyslogd with deploy/rsyslog/mutt-relay.conf
// (its ports and target pointed at this test's listener) and sends through
// it with logger: the event arrives with the device's fields intact.
func TestRsyslogRelayExample(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "rsyslogd")
	r := newRig(t, rigOpts{cfg: syslog.Config{TCPAddr: "127.0.0.1:0"}})
	raw, err := os.ReadFile("../../deploy/rsyslog/mutt-relay.conf")
	require.NoError(t, err)
	_, inPort, err := net.SplitHostPort(testenv.FreeAddr(t))
	require.NoError(t, err)
	_, tcpInPort, err := net.SplitHostPort(testenv.FreeAddr(t))
	require.NoError(t, err)
	dir := t.TempDir()
	conf := string(raw)
	conf = strings.Replace(conf, `input(type="imudp" port="514")`, `input(type="imudp" address="127.0.0.1" port="`+inPort+`")`, 1)
	conf = strings.Replace(conf, `input(type="imtcp" port="514")`, `input(type="imtcp" address="127.0.0.1" port="`+tcpInPort+`")`, 1)
	conf = strings.Replace(conf, `target="mutt-ingestor.example.internal"
  port="5514"`, `target="127.0.0.1"
  port="`+port(r.rcv.TCPAddr())+`"`, 1)
	require.Contains(t, conf, port(r.rcv.TCPAddr()), "the example's target block is where the test expects it")
	conf = `global(workDirectory="` + dir + `")` + "\n" + conf
	confFile := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "rsyslogd", "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	// rsyslogd needs a moment to open its inputs; logger over UDP does not
	// notice a closed port, so send until the event arrives.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		o, err := exec.Command("logger", "-n", "127.0.0.1", "-P", inPort, "--udp", "--rfc3164", "-t", "ifmgr", "-p", "local7.err",
			"relayed LINK-DOWN").CombinedOutput()
		assert.NoError(c, err, "%s", o)
		assert.NotEmpty(c, r.events(c), "rsyslogd output: %s", out.String())
	}, 30*time.Second, 500*time.Millisecond)
	e := r.events(t)[0]
	require.Equal(t, "syslog_tcp", e.Source)
	require.Equal(t, "relayed LINK-DOWN", e.Message)
	require.Equal(t, "ifmgr", e.orig["app_name"])
	require.Equal(t, "local7", e.orig["facility_name"])
	require.Equal(t, 3, *e.Severity)
	require.Equal(t, "rfc5424", e.orig["syslog_format"], "rsyslog forwards in RFC 5424")
}
