package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestSnmptrapdRelayExample runs a real snmptrapd with deploy/snmptrapd's
// configuration and handler in front of `mutt dev`'s HTTP ingest: v1, v2c and
// v3 authPriv traps it relays are matched by the oid_prefix seed rule and
// audited, with trap_oid, source_ip and the variables in the event.
func TestSnmptrapdRelayExample(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "snmptrapd")
	trapd, err := exec.LookPath("snmptrapd")
	require.NoError(t, err, "snmptrapd is missing: apt-get install -y snmptrapd (scripts/ensure-services.sh --test)")
	for _, tool := range []string{"jq", "curl"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "%s is missing (scripts/ensure-services.sh --test)", tool)
	}
	cfg, d := runInProcess(t, devEnv(t))
	ctx := context.Background()

	dir := t.TempDir()
	handler, err := filepath.Abs("../deploy/snmptrapd/mutt-traphandle")
	require.NoError(t, err)
	envFile := filepath.Join(dir, "traphandle.env")
	require.NoError(t, os.WriteFile(envFile, []byte("MUTT_INGEST_URL=http://"+cfg.Ingest.Addr+"/ingest\n"+
		"MUTT_INGEST_API_KEY="+app.DevIngestKey+"\n"), 0o600))
	conf, err := os.ReadFile("../deploy/snmptrapd/snmptrapd.conf")
	require.NoError(t, err)
	const handle = "traphandle default /usr/local/bin/mutt-traphandle /etc/mutt/traphandle.env"
	require.Contains(t, string(conf), handle)
	confFile := filepath.Join(dir, "snmptrapd.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(strings.Replace(string(conf), handle,
		"traphandle default "+handler+" "+envFile, 1)), 0o600))

	addr := udpAddr(t)
	cmd := exec.Command(trapd, "-f", "-Lf", filepath.Join(dir, "snmptrapd.log"), "-C", "-c", confFile, //nolint:gosec // test
		"-m", "", "-M", dir, "--persistentDir="+dir, "udp:"+addr)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Error(ct, bindUDP(addr), "snmptrapd has not bound %s yet", addr)
	}, 10*time.Second, 20*time.Millisecond)

	sends := map[string][]string{
		"relay-v1.example.com": {"-v", "1", "-c", "public", addr, "1.3.6.1.4.1.9.9.41.2", "10.0.0.1", "6", "1", "",
			"1.3.6.1.2.1.1.5.0", "s", "relay-v1.example.com"},
		"relay-v2c.example.com": {"-v", "2c", "-c", "public", addr, "", "1.3.6.1.4.1.9.9.41.2.0.1",
			"1.3.6.1.2.1.1.5.0", "s", "relay-v2c.example.com", "1.3.6.1.4.1.9.9.41.1.2.3.1.5.1", "s", `say "hi"`},
		"relay-v3.example.com": {"-v", "3", "-u", "noc", "-l", "authPriv", "-a", "SHA-256", "-A", "auth-secret-1",
			"-x", "AES", "-X", "priv-secret-1", "-e", "0x80001f8880c0ffee01", addr, "", "1.3.6.1.4.1.9.9.41.2.0.1",
			"1.3.6.1.2.1.1.5.0", "s", "relay-v3.example.com"},
	}
	for host, args := range sends {
		out, err := snmpTool(t, "snmptrap", args...)
		require.NoError(t, err, "%s: %s", host, out)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for host := range sends {
			var handling, raw string
			err := d.DB.QueryRow(ctx, `SELECT handling_decision, raw_message FROM event_audit_log WHERE hostname = $1`,
				host).Scan(&handling, &raw)
			if !assert.NoError(ct, err, host) {
				continue
			}
			assert.Equal(ct, "Page_and_ticket", handling, host)
			assert.Contains(ct, raw, "1.3.6.1.4.1.9.9.41.2.0.1", host)
		}
	}, 30*time.Second, 100*time.Millisecond)
	var raw string
	require.NoError(t, d.DB.QueryRow(ctx, `SELECT raw_message FROM event_audit_log WHERE hostname = 'relay-v2c.example.com'`).Scan(&raw))
	var ev struct {
		Message   string              `json:"message"`
		SourceIP  string              `json:"source_ip"`
		TrapOID   string              `json:"trap_oid"`
		Variables []map[string]string `json:"variables"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &ev))
	assert.Contains(t, ev.Message, `1.3.6.1.4.1.9.9.41.1.2.3.1.5.1=say "hi"`)
	assert.Equal(t, "127.0.0.1", ev.SourceIP)
	assert.Equal(t, "1.3.6.1.4.1.9.9.41.2.0.1", ev.TrapOID)
	assert.Contains(t, ev.Variables, map[string]string{"oid": "1.3.6.1.4.1.9.9.41.1.2.3.1.5.1", "type": "OctetString", "value": `say "hi"`})
}
