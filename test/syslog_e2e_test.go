package test

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyslogWholePath sends syslog with util-linux logger over UDP and TCP
// (both framings, both formats) to the dev pipeline's listeners: each event
// is matched by the LINK-DOWN seed rule, audited with its syslog fields in
// PostgreSQL, and delivered to the simulator.
func TestSyslogWholePath(t *testing.T) {
	t.Parallel()
	env := devEnv(t)
	udp := freeAddr(t)
	env["MUTT_SYSLOG_UDP_ADDR"], env["MUTT_SYSLOG_TCP_ADDR"] = udp, freeAddr(t)
	cfg, d := runInProcess(t, env)
	_, udpPort, err := net.SplitHostPort(cfg.Syslog.UDPAddr)
	require.NoError(t, err)
	_, tcpPort, err := net.SplitHostPort(cfg.Syslog.TCPAddr)
	require.NoError(t, err)

	sends := [][]string{
		{"--udp", "--rfc5424", "-P", udpPort},
		{"--udp", "--rfc3164", "-P", udpPort},
		{"--tcp", "--rfc5424", "--octet-count", "-P", tcpPort},
		{"--tcp", "--rfc3164", "-P", tcpPort},
	}
	for i, s := range sends {
		args := append([]string{"-n", "127.0.0.1", "-t", "ifmgr", "-p", "local7.crit"}, s...)
		args = append(args, "LINK-DOWN Gi0/"+string(rune('1'+i))+" changed state to down")
		out, err := exec.Command("logger", args...).CombinedOutput()
		require.NoError(t, err, "logger %v: %s", args, out)
	}

	var st simStats
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 200, getJSON(c, "http://"+cfg.MoogSimAddr+"/stats", &st))
		assert.Equal(c, len(sends), st.Count)
	}, 20*time.Second, 50*time.Millisecond, "every syslog event reaches the simulator")
	for _, a := range st.Last {
		require.Equal(t, "NetOps", a["class"], "the LINK-DOWN seed rule's team")
	}

	rows, err := d.DB.Query(context.Background(), `SELECT handling_decision, raw_message FROM event_audit_log WHERE raw_message LIKE '%LINK-DOWN%'`)
	require.NoError(t, err)
	defer rows.Close()
	formats := map[string]int{}
	n := 0
	for rows.Next() {
		var handling, raw string
		require.NoError(t, rows.Scan(&handling, &raw))
		require.Equal(t, "Page_and_ticket", handling)
		var orig map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &orig))
		require.Equal(t, "ifmgr", orig["app_name"], raw)
		require.Equal(t, "local7", orig["facility_name"], raw)
		require.EqualValues(t, 2, orig["syslog_severity"], raw)
		require.Equal(t, "127.0.0.1", orig["source_ip"], raw)
		formats[orig["syslog_format"].(string)]++
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(sends), n, "each event audited once")
	require.Equal(t, map[string]int{"rfc5424": 2, "rfc3164": 2}, formats)
}
