package test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// snmpTool runs one of net-snmp's command-line tools (Debian package snmp)
// with no MIBs and its persistent state in a temporary directory.
func snmpTool(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	return snmpRunner(t, tool)(args...)
}

// snmpRunner finds tool (the test fails without it) and returns a function
// that runs it, with a configuration directory of the test's own: safe to
// call inside a wait condition.
func snmpRunner(t *testing.T, tool string) func(args ...string) (string, error) {
	t.Helper()
	testenv.NeedsServices(t, tool)
	path, err := exec.LookPath(tool)
	require.NoError(t, err, "%s is missing: apt-get install -y snmp (scripts/ensure-services.sh --test)", tool)
	dir := t.TempDir()
	return func(args ...string) (string, error) {
		cmd := exec.Command(path, append([]string{"-m", "", "-M", dir, "-On"}, args...)...) //nolint:gosec // test tool
		cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir, "SNMPCONFPATH="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

// udpAddr is a free loopback UDP address.
func udpAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	return addr
}

// bindUDP binds addr and lets it go: an error means someone holds it.
func bindUDP(addr string) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// snmpReady waits until the trap port is bound and the process has
// advertised itself in Redis (its start-up is over).
func snmpReady(t *testing.T, d *app.Deps, trapAddr string) {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Error(ct, bindUDP(trapAddr), "the trap port is not bound yet")
		keys, err := d.AdminRedis.Keys(context.Background(), d.Keys.InstancesPattern()).Result()
		assert.NoError(ct, err)
		assert.NotEmpty(ct, keys)
	}, 20*time.Second, 20*time.Millisecond)
}

// TestPipelineSNMPTraps: v1, v2c and v3 authPriv traps and v2c/v3 INFORMs
// sent by net-snmp to `mutt dev`'s receiver are matched by an oid_prefix
// rule, audited in PostgreSQL and delivered to the Moogsoft simulator.
func TestPipelineSNMPTraps(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	trapAddr := udpAddr(t)
	env["MUTT_SNMP_ADDR"] = trapAddr
	env["MUTT_SNMP_V3_USERS"] = `[{"user":"noc","auth":"SHA256","auth_key":"auth-secret-1","priv":"AES","priv_key":"priv-secret-1"}]`
	cfg, d := runInProcess(t, env)
	snmpReady(t, d, trapAddr)
	ctx := context.Background()
	// The seed rule: oid_prefix 1.3.6.1.4.1.9.9.41.2 (CISCO-SYSLOG-MIB
	// notifications), Page_and_ticket, NetOps; and one for linkDown.
	var linkDownRule int32
	require.NoError(t, d.DB.QueryRow(ctx, `INSERT INTO alert_rules (trap_oid, match_type, priority, prod_handling,
		dev_handling, team_assignment) VALUES ('.1.3.6.1.6.3.1.1.5.3', 'oid_prefix', 1, 'Ticket_only', 'Ignore', 'Transport')
		RETURNING id`).Scan(&linkDownRule))
	require.NoError(t, d.Redis.Publish(ctx, d.Keys.RulesUpdates(), "rules").Err())

	v3 := []string{"-v", "3", "-u", "noc", "-l", "authPriv", "-a", "SHA-256", "-A", "auth-secret-1", "-x", "AES",
		"-X", "priv-secret-1"}
	sends := []struct {
		host string
		tool string
		args []string
	}{
		{"snmp-v1.example.com", "snmptrap", []string{"-v", "1", "-c", "public", trapAddr, "1.3.6.1.4.1.9.9.41.2",
			"10.0.0.1", "6", "1", "", "1.3.6.1.2.1.1.5.0", "s", "snmp-v1.example.com"}},
		{"snmp-v2c.example.com", "snmptrap", []string{"-v", "2c", "-c", "public", trapAddr, "", "1.3.6.1.4.1.9.9.41.2.0.1",
			"1.3.6.1.2.1.1.5.0", "s", "snmp-v2c.example.com", "1.3.6.1.4.1.9.9.41.1.2.3.1.5.1", "s", "%LINK-3-UPDOWN"}},
		{"snmp-v3.example.com", "snmptrap", append(append([]string{}, v3...), "-e", "0x80001f8880c0ffee01", trapAddr, "",
			"1.3.6.1.4.1.9.9.41.2.0.1", "1.3.6.1.2.1.1.5.0", "s", "snmp-v3.example.com")},
		{"snmp-inform.example.com", "snmpinform", []string{"-v", "2c", "-c", "public", "-t", "3", "-r", "3", trapAddr, "",
			"1.3.6.1.4.1.9.9.41.2.0.1", "1.3.6.1.2.1.1.5.0", "s", "snmp-inform.example.com"}},
		{"snmp-inform3.example.com", "snmpinform", append(append([]string{}, v3...), "-t", "3", "-r", "3", trapAddr, "",
			"1.3.6.1.4.1.9.9.41.2.0.1", "1.3.6.1.2.1.1.5.0", "s", "snmp-inform3.example.com")},
		{"10.20.30.40", "snmptrap", []string{"-v", "1", "-c", "public", trapAddr, "1.3.6.1.4.1.8072.3.2.10", "10.20.30.40",
			"2", "0", "", "1.3.6.1.2.1.2.2.1.1.3", "i", "3"}},
	}
	for _, s := range sends {
		out, err := snmpTool(t, s.tool, s.args...)
		require.NoError(t, err, "%s: %s", s.host, out)
	}

	type row struct {
		eventID, handling, team string
		rule                    *int32
	}
	audit := map[string]row{}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		rows, err := d.DB.Query(ctx, `SELECT hostname, event_id::text, handling_decision, coalesce(team_assignment, ''),
			matched_rule_id FROM event_audit_log`)
		if !assert.NoError(ct, err) {
			return
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			var r row
			if assert.NoError(ct, rows.Scan(&h, &r.eventID, &r.handling, &r.team, &r.rule)) {
				audit[h] = r
			}
		}
		for _, s := range sends {
			assert.Contains(ct, audit, s.host)
		}
	}, 20*time.Second, 50*time.Millisecond)

	for _, s := range sends[:5] {
		r := audit[s.host]
		assert.Equal(t, "Page_and_ticket", r.handling, s.host)
		assert.Equal(t, "NetOps", r.team, s.host)
		assert.NotNil(t, r.rule, s.host)
	}
	r := audit["10.20.30.40"]
	require.NotNil(t, r.rule)
	assert.Equal(t, linkDownRule, *r.rule, "v1 generic linkDown matched by the rule on its RFC 3584 trap OID")
	assert.Equal(t, "Transport", r.team)

	// Every one reached the simulator, with its event id as external_id.
	var st simStats
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, 200, getJSON(ct, "http://"+cfg.MoogSimAddr+"/stats", &st))
		assert.Equal(ct, len(sends), st.Count)
	}, 20*time.Second, 50*time.Millisecond)
	var ext []string
	for _, a := range st.Last {
		ext = append(ext, a["external_id"].(string))
	}
	for _, s := range sends {
		assert.Contains(t, ext, audit[s.host].eventID, s.host)
	}
}

// TestPipelineSNMPInformWaitsForRedis: while the ingestor cannot reach Redis
// an INFORM is not acknowledged (snmpinform times out); once Redis is back the
// sender's next attempt is acknowledged, audited and delivered.
func TestPipelineSNMPInformWaitsForRedis(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	u, err := url.Parse(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	env["REDIS_URL"] = u.String()
	trapAddr := udpAddr(t)
	env["MUTT_SNMP_ADDR"] = trapAddr
	cfg, d := runInProcess(t, env)
	snmpReady(t, d, trapAddr)
	ctx := context.Background()

	args := []string{"-v", "2c", "-c", "public", "-t", "1", "-r", "1", trapAddr, "", "1.3.6.1.4.1.9.9.41.2.0.1",
		"1.3.6.1.2.1.1.5.0", "s", "inform-outage.example.com"}
	proxy.Cut()
	out, err := snmpTool(t, "snmpinform", args...)
	require.Error(t, err, "acknowledged while Redis was unreachable: %s", out)
	require.Contains(t, out, "Timeout")

	proxy.Restore()
	inform := snmpRunner(t, "snmpinform")
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out, err := inform(args...)
		assert.NoError(ct, err, out)
	}, 30*time.Second, 200*time.Millisecond)

	var st simStats
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, 200, getJSON(ct, "http://"+cfg.MoogSimAddr+"/stats", &st))
		assert.GreaterOrEqual(ct, st.Count, 1)
	}, 20*time.Second, 50*time.Millisecond)
	var n int
	require.NoError(t, d.DB.QueryRow(ctx, `SELECT count(*) FROM event_audit_log WHERE hostname = 'inform-outage.example.com'
		AND handling_decision = 'Page_and_ticket'`).Scan(&n))
	require.GreaterOrEqual(t, n, 1)
}
