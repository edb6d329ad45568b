package syslog

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFormats(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	src := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		name, raw string
		want      map[string]any
		ts        time.Time
	}{
		{
			name: "rfc5424 with structured data",
			raw:  `<165>1 2026-03-04T05:00:00.123Z rtr1.example.com ifmgr 42 LINK [exampleSDID@32473 iut="3" eventSource="App"] Gi0/1 down` + "\n",
			want: map[string]any{"hostname": "rtr1.example.com", "message": "Gi0/1 down", "syslog_severity": 5.0, "severity": "notice",
				"facility": 20.0, "facility_name": "local4", "app_name": "ifmgr", "proc_id": "42", "msg_id": "LINK",
				"structured_data": map[string]any{"exampleSDID@32473": map[string]any{"iut": "3", "eventSource": "App"}},
				"source_ip":       "192.0.2.7", "syslog_format": "rfc5424", "timestamp": "2026-03-04T05:00:00.123Z"},
			ts: time.Date(2026, 3, 4, 5, 0, 0, 123e6, time.UTC),
		},
		{
			name: "rfc3164 takes the current year and the configured zone",
			raw:  `<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed for lonvick on /dev/pts/8`,
			want: map[string]any{"hostname": "mymachine", "message": "'su root' failed for lonvick on /dev/pts/8",
				"syslog_severity": 2.0, "severity": "crit", "facility": 4.0, "facility_name": "auth", "app_name": "su", "proc_id": "77",
				"source_ip": "192.0.2.7", "syslog_format": "rfc3164"},
			ts: time.Date(time.Now().Year(), 10, 11, 22, 14, 15, 0, time.UTC),
		},
		{
			name: "cisco without hostname gets the sender's address",
			raw:  `<189>269614: *Apr 11 10:02:08.123: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet7/0/34, changed state to up`,
			want: map[string]any{"hostname": "192.0.2.7", "hostname_from": "source_ip", "syslog_severity": 5.0, "facility": 23.0,
				"facility_name": "local7", "source_ip": "192.0.2.7", "syslog_format": "rfc3164"},
		},
		{
			name: "rfc5424 nil values",
			raw:  `<11>1 - - - - - -`,
			want: map[string]any{"hostname": "192.0.2.7", "hostname_from": "source_ip", "message": "", "syslog_severity": 3.0,
				"severity": "err", "facility": 1.0, "facility_name": "user", "source_ip": "192.0.2.7", "syslog_format": "rfc5424",
				"timestamp": "2026-03-04T05:06:07Z"},
			ts: now,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newParser(time.UTC)
			pm, err := p.parse([]byte(tc.raw), src, now)
			require.NoError(t, err)
			env, err := pm.envelope(src.String(), "source_ip")
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(env.Original, &got))
			for k, v := range tc.want {
				require.Equal(t, v, got[k], "field %s of %s", k, env.Original)
			}
			require.Equal(t, got["hostname"], env.Hostname)
			require.Equal(t, int(got["syslog_severity"].(float64)), *env.Severity)
			require.Equal(t, int(got["facility"].(float64)), *env.Facility, "the rules match the envelope's facility")
			app, _ := got["app_name"].(string)
			require.Equal(t, app, env.AppName, "the rules match the envelope's app_name")
			if !tc.ts.IsZero() {
				require.True(t, tc.ts.Equal(env.Timestamp), "timestamp %s, want %s", env.Timestamp, tc.ts)
			}
		})
	}
}

func TestParseRejectsWhatIsNotSyslog(t *testing.T) {
	t.Parallel()
	p := newParser(time.UTC)
	for _, raw := range []string{"", "\n", "hello world", "<999>1 - - - - - -", "<abc>", `{"hostname":"x"}`, "<13"} {
		_, err := p.parse([]byte(raw), netip.MustParseAddr("192.0.2.1"), time.Now())
		require.ErrorIs(t, err, errMalformed, "%q", raw)
	}
}

// BenchmarkParse: parse and build the envelope of one RFC 5424 and one RFC
// 3164 message (the per-message CPU of a listener, without Redis).
func BenchmarkParse(b *testing.B) {
	msgs := [][]byte{
		[]byte(`<187>1 2026-03-04T05:06:07.123Z rtr1.example.com ifmgr 4242 LINK - %LINK-3-UPDOWN: Interface Gi0/1 changed state to down`),
		[]byte(`<187>Mar  4 05:06:07 rtr1 ifmgr[4242]: %LINK-3-UPDOWN: Interface Gi0/1 changed state to down`),
	}
	p := newParser(time.UTC)
	src := netip.MustParseAddr("192.0.2.7")
	now := time.Now()
	b.SetBytes(int64(len(msgs[0])+len(msgs[1])) / 2)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pm, err := p.parse(msgs[i%2], src, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pm.envelope(src.String(), "source_ip"); err != nil {
			b.Fatal(err)
		}
	}
}
