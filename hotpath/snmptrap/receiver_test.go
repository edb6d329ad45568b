package snmptrap

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// recorder is a Submitter that keeps what it was given, or refuses while
// refuse is set (the ingestor's producer is tested in the pipeline tests).
type recorder struct {
	mu     sync.Mutex
	envs   []event.Envelope
	refuse bool
}

func (s *recorder) Submit(_ context.Context, source string, envs []event.Envelope) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return nil, errors.New("refused")
	}
	ids := make([]string, len(envs))
	for _, e := range envs {
		e.Source = source
		s.envs = append(s.envs, e)
	}
	return ids, nil
}

func (s *recorder) events() []event.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Envelope(nil), s.envs...)
}

func (s *recorder) setRefuse(b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = b
}

// testUsers are the v3 users the net-snmp clients log in as.
const testUsers = `[{"user":"mutt","auth":"SHA","auth_key":"authpass123","priv":"AES","priv_key":"privpass123"},
{"user":"md5des","auth":"md5","auth_key":"authpass456","priv":"des","priv_key":"privpass456"}]`

func startReceiver(t *testing.T, sub Submitter, mutate func(*Config)) (*Receiver, string, *prometheus.Registry) {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	users, err := ParseUsers([]byte(testUsers))
	require.NoError(t, err)
	cfg := Config{Addr: "127.0.0.1:0", Communities: []string{"public", "second"}, Users: users,
		SubmitRetry: 200 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	reg := prometheus.NewRegistry()
	r, err := New(Options{Config: cfg, Submit: sub, Redis: rdb, DLQ: keys.Prefix + "dlq:snmp", Registerer: reg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, r.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return r, r.Addr().String(), reg
}

// netsnmp runs one of net-snmp's command-line tools with no MIBs loaded and
// its persistent state in a temporary directory.
func netsnmp(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath(tool)
	require.NoError(t, err, "%s is missing: apt-get install -y snmp (scripts/ensure-services.sh --test)", tool)
	dir := t.TempDir()
	cmd := exec.Command(path, append([]string{"-m", "", "-M", dir, "-On"}, args...)...) //nolint:gosec // test tool
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir, "SNMPCONFPATH="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// object decodes an envelope's event object.
func eventObject(t *testing.T, e event.Envelope) map[string]any {
	t.Helper()
	var o map[string]any
	require.NoError(t, json.Unmarshal(e.Original, &o))
	return o
}

func findTrap(envs []event.Envelope, oid string) (event.Envelope, bool) {
	for _, e := range envs {
		if e.TrapOID == oid {
			return e, true
		}
	}
	return event.Envelope{}, false
}

// Traps sent by net-snmp's snmptrap and snmpinform in v1, v2c and v3
// (authPriv, two protocol pairs) arrive as events with the RFC 3584 trap OID,
// the sender's address, a hostname, readable variables and a message.
func TestNetSNMPTrapsBecomeEvents(t *testing.T) {
	t.Parallel()
	sub := &recorder{}
	_, addr, reg := startReceiver(t, sub, nil)

	cases := []struct {
		name   string
		tool   string
		args   []string
		oid    string
		host   string
		checks func(t *testing.T, o map[string]any, e event.Envelope)
	}{
		{name: "v1 enterprise-specific", tool: "snmptrap",
			args: []string{"-v", "1", "-c", "public", addr, "1.3.6.1.4.1.9.9.41.2", "10.1.2.3", "6", "17", "",
				"1.3.6.1.2.1.1.5.0", "s", "core-sw1", "1.3.6.1.4.1.9.9.41.1.2.3.1.5", "s", "LINK-3-UPDOWN Gi0/1 down"},
			oid: "1.3.6.1.4.1.9.9.41.2.0.17", host: "core-sw1",
			checks: func(t *testing.T, o map[string]any, _ event.Envelope) {
				assert.Equal(t, "v1", o["snmp_version"])
				assert.Equal(t, "10.1.2.3", o["agent_address"])
				assert.Equal(t, "1.3.6.1.4.1.9.9.41.2", o["enterprise"])
				assert.InDelta(t, 6, o["generic_trap"], 0)
				assert.InDelta(t, 17, o["specific_trap"], 0)
				assert.Contains(t, o["message"], "LINK-3-UPDOWN Gi0/1 down")
			}},
		{name: "v1 generic linkDown", tool: "snmptrap",
			args: []string{"-v", "1", "-c", "second", addr, "1.3.6.1.4.1.8072.3.2.10", "10.9.9.9", "2", "0", "",
				"1.3.6.1.2.1.2.2.1.1.2", "i", "2"},
			oid: "1.3.6.1.6.3.1.1.5.3", host: "10.9.9.9",
			checks: func(t *testing.T, o map[string]any, e event.Envelope) {
				assert.Equal(t, "linkDown", o["trap_name"])
				require.NotNil(t, e.Severity)
				assert.Equal(t, 3, *e.Severity)
				assert.Equal(t, []any{map[string]any{"oid": "1.3.6.1.2.1.2.2.1.1.2", "type": "Integer", "value": 2.0}}, o["variables"])
			}},
		{name: "v2c trap", tool: "snmptrap",
			args: []string{"-v", "2c", "-c", "public", addr, "4242", "1.3.6.1.6.3.1.1.5.4",
				"1.3.6.1.2.1.2.2.1.2.7", "s", "Gi0/7", "1.3.6.1.2.1.4.20.1.1.10.0.0.1", "a", "10.0.0.1",
				"1.3.6.1.4.1.99999.1", "x", "00ff10", "1.3.6.1.4.1.99999.2", "o", ".1.3.6.1.4.1.99999.7"},
			oid: "1.3.6.1.6.3.1.1.5.4", host: "127.0.0.1",
			checks: func(t *testing.T, o map[string]any, _ event.Envelope) {
				assert.Equal(t, "v2c", o["snmp_version"])
				assert.Equal(t, "linkUp", o["trap_name"])
				assert.InDelta(t, 4242, o["sys_uptime"], 0)
				assert.Equal(t, []any{
					map[string]any{"oid": "1.3.6.1.2.1.2.2.1.2.7", "type": "OctetString", "value": "Gi0/7"},
					map[string]any{"oid": "1.3.6.1.2.1.4.20.1.1.10.0.0.1", "type": "IpAddress", "value": "10.0.0.1"},
					map[string]any{"oid": "1.3.6.1.4.1.99999.1", "type": "OctetString", "value": "00:ff:10"},
					map[string]any{"oid": "1.3.6.1.4.1.99999.2", "type": "ObjectIdentifier", "value": "1.3.6.1.4.1.99999.7"},
				}, o["variables"])
			}},
		{name: "v3 authPriv SHA/AES trap", tool: "snmptrap",
			args: []string{"-v", "3", "-u", "mutt", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES",
				"-X", "privpass123", "-e", "0x80001f8880aabbccdd", addr, "", "1.3.6.1.4.1.99999.0.1",
				"1.3.6.1.2.1.1.5.0", "s", "fw-v3"},
			oid: "1.3.6.1.4.1.99999.0.1", host: "fw-v3",
			checks: func(t *testing.T, o map[string]any, _ event.Envelope) {
				assert.Equal(t, "v3", o["snmp_version"])
				assert.Equal(t, "mutt", o["snmp_user"])
			}},
		{name: "v3 authPriv MD5/DES trap", tool: "snmptrap",
			args: []string{"-v", "3", "-u", "md5des", "-l", "authPriv", "-a", "MD5", "-A", "authpass456", "-x", "DES",
				"-X", "privpass456", "-e", "0x80001f8880aabbccee", addr, "", "1.3.6.1.4.1.99999.0.2"},
			oid: "1.3.6.1.4.1.99999.0.2", host: "127.0.0.1"},
		{name: "v2c inform", tool: "snmpinform",
			args: []string{"-v", "2c", "-c", "public", "-t", "3", "-r", "2", addr, "", "1.3.6.1.4.1.99999.0.3",
				"1.3.6.1.4.1.99999.3", "u", "7"},
			oid: "1.3.6.1.4.1.99999.0.3", host: "127.0.0.1",
			checks: func(t *testing.T, o map[string]any, _ event.Envelope) {
				assert.Equal(t, "inform", o["pdu_type"])
			}},
		{name: "v3 authPriv inform (engine-ID discovery)", tool: "snmpinform",
			args: []string{"-v", "3", "-u", "mutt", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES",
				"-X", "privpass123", "-t", "3", "-r", "2", addr, "", "1.3.6.1.4.1.99999.0.4", "1.3.6.1.2.1.1.5.0", "s", "ups-1"},
			oid: "1.3.6.1.4.1.99999.0.4", host: "ups-1"},
	}
	for _, c := range cases {
		out, err := netsnmp(t, c.tool, c.args...)
		require.NoError(t, err, "%s: %s", c.name, out)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for _, c := range cases {
			_, ok := findTrap(sub.events(), c.oid)
			assert.True(ct, ok, "%s: no event with trap_oid %s", c.name, c.oid)
		}
	}, 10*time.Second, 20*time.Millisecond)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := findTrap(sub.events(), c.oid)
			o := eventObject(t, e)
			assert.Equal(t, event.SourceSNMP, e.Source)
			assert.Equal(t, c.host, e.Hostname)
			assert.Equal(t, c.host, o["hostname"])
			assert.Equal(t, "127.0.0.1", o["source_ip"])
			assert.Equal(t, c.oid, o["trap_oid"])
			assert.Equal(t, e.Message, o["message"])
			assert.Contains(t, e.Message, c.oid)
			assert.WithinDuration(t, time.Now(), e.Timestamp, time.Minute)
			if c.checks != nil {
				c.checks(t, o, e)
			}
		})
	}
	// Each INFORM was acknowledged once (snmpinform exited 0 on the ack).
	assert.InDelta(t, 2, testenv.Metric(t, reg, "mutt_snmp_informs_acknowledged_total", nil), 0)
}

// An INFORM the producer refuses is not acknowledged, so the sender keeps
// retrying; once the producer accepts, the retry is acknowledged.
func TestInformAcknowledgedOnlyWhenQueued(t *testing.T) {
	t.Parallel()
	sub := &recorder{refuse: true}
	_, addr, _ := startReceiver(t, sub, nil)
	args := []string{"-v", "2c", "-c", "public", "-t", "1", "-r", "0", addr, "", "1.3.6.1.4.1.99999.0.9"}
	out, err := netsnmp(t, "snmpinform", args...)
	require.Error(t, err, "the inform was acknowledged although nothing was queued: %s", out)
	assert.Contains(t, out, "Timeout")
	assert.Empty(t, sub.events())

	sub.setRefuse(false)
	out, err = netsnmp(t, "snmpinform", args...)
	require.NoError(t, err, out)
	require.Len(t, sub.events(), 1)
}

// Wrong communities, unknown v3 users, wrong keys and garbage are counted
// and kept in the dead-letter stream with the reason and the raw bytes; the
// receiver keeps working.
func TestRejectedPacketsAreDeadLettered(t *testing.T) {
	t.Parallel()
	sub := &recorder{}
	rdb, keys := testenv.Redis(t)
	users, err := ParseUsers([]byte(testUsers))
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	dlq := keys.Prefix + "dlq:snmp"
	r, err := New(Options{Config: Config{Addr: "127.0.0.1:0", Communities: []string{"public"}, Users: users},
		Submit: sub, Redis: rdb, DLQ: dlq, Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, r.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	addr := r.Addr().String()

	out, err := netsnmp(t, "snmptrap", "-v", "2c", "-c", "wrong", addr, "", "1.3.6.1.4.1.99999.0.1")
	require.NoError(t, err, out)
	out, err = netsnmp(t, "snmptrap", "-v", "3", "-u", "nobody", "-l", "authNoPriv", "-a", "SHA", "-A", "whatever12",
		"-e", "0x80001f8880aabbccdd", addr, "", "1.3.6.1.4.1.99999.0.1")
	require.NoError(t, err, out)
	out, err = netsnmp(t, "snmptrap", "-v", "3", "-u", "mutt", "-l", "authPriv", "-a", "SHA", "-A", "wrongpass1",
		"-x", "AES", "-X", "privpass123", "-e", "0x80001f8880aabbccdd", addr, "", "1.3.6.1.4.1.99999.0.1")
	require.NoError(t, err, out)
	conn, err := net.Dial("udp", addr)
	require.NoError(t, err)
	_, err = conn.Write([]byte("\x30\x03\x02\x01\x01garbage"))
	require.NoError(t, err)
	_, err = conn.Write(v3NotSequence(t)) // made gosnmp's decoder panic
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	// Still receiving.
	out, err = netsnmp(t, "snmptrap", "-v", "2c", "-c", "public", addr, "", "1.3.6.1.4.1.99999.0.5")
	require.NoError(t, err, out)

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		entries, err := rdb.XRange(context.Background(), dlq, "-", "+").Result()
		if !assert.NoError(ct, err) || !assert.Len(ct, entries, 5) {
			return
		}
		var reasons []string
		for _, e := range entries {
			reasons = append(reasons, e.Values["reason"].(string))
			assert.Equal(ct, "127.0.0.1", e.Values["source_ip"])
			assert.NotEmpty(ct, e.Values["raw"])
			assert.NotEmpty(ct, e.Values["error"])
		}
		assert.ElementsMatch(ct, []string{"community", "v3_rejected", "v3_rejected", "malformed", "v3_rejected"}, reasons)
		assert.Len(ct, sub.events(), 1)
	}, 10*time.Second, 20*time.Millisecond)
	entries, err := rdb.XRange(context.Background(), dlq, "-", "+").Result()
	require.NoError(t, err)
	var raws []any
	for _, e := range entries {
		raws = append(raws, e.Values["raw"])
	}
	assert.Contains(t, raws, "\x30\x03\x02\x01\x01garbage")
	assert.Contains(t, raws, string(v3NotSequence(t)), "the datagram as received, not as the decoder left it")
	assert.InDelta(t, 1, testenv.Metric(t, reg, "mutt_snmp_traps_total", nil), 0)
}

// A source over its rate limit loses the excess (counted), other sources
// are unaffected.
func TestPerSourceRateLimit(t *testing.T) {
	t.Parallel()
	sub := &recorder{}
	_, addr, reg := startReceiver(t, sub, func(c *Config) { c.Rate, c.Burst = 1, 2 })
	for range 5 {
		out, err := netsnmp(t, "snmptrap", "-v", "2c", "-c", "public", addr, "", "1.3.6.1.4.1.99999.0.6")
		require.NoError(t, err, out)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		packets := func(outcome string) float64 {
			return testenv.Metric(ct, reg, "mutt_snmp_packets_total", map[string]string{"outcome": outcome})
		}
		assert.Equal(ct, 5.0, packets("accepted")+packets("rate_limited"))
		assert.GreaterOrEqual(ct, packets("rate_limited"), 2.0)
	}, 10*time.Second, 20*time.Millisecond)
	assert.True(t, strings.HasPrefix(sub.events()[0].TrapOID, "1.3.6.1.4.1.99999.0.6"))
}
