package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAppendJSONMatchesMarshal(t *testing.T) {
	sev := 2
	for _, a := range []Alert{
		{},
		{EventID: "e1", CorrelationID: "c", ReceivedAt: time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC),
			EventTime: time.Date(2026, 11, 26, 9, 59, 0, 0, time.FixedZone("x", 3600)), Hostname: "h\"\\\n\u2028é",
			RuleID: 7, Handling: "page_only", Environment: "prod", Team: "NetOps", Severity: &sev,
			Description: "<b>LINK-DOWN</b>\x01", Signature: "h:rule:7", Original: json.RawMessage(`{"a":[1,2,{"b":null}]}`)},
		{EventID: "m", Meta: true, Handling: "meta", Signature: "MUTT_Alerter:h:abc"},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false) // the one difference: HTML characters need no escaping in JSON
		require.NoError(t, enc.Encode(a))
		require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(a.AppendJSON(nil)))
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "host", "msg", int64(3), 4, true, `{"x":1}`)
	f.Add("", "\xff", "\u2028", int64(0), -1, false, ``)
	f.Fuzz(func(t *testing.T, id, host, desc string, rule int64, sev int, meta bool, orig string) {
		a := Alert{EventID: id, Hostname: host, Description: desc, RuleID: rule, Meta: meta,
			ReceivedAt: time.Unix(0, rule).UTC()}
		if sev >= 0 {
			a.Severity = &sev
		}
		if json.Valid([]byte(orig)) {
			a.Original = json.RawMessage(orig)
		}
		want, err := json.Marshal(a)
		if err != nil {
			return
		}
		var x, y Alert
		require.NoError(t, json.Unmarshal(want, &x))
		require.NoError(t, json.Unmarshal(a.AppendJSON(nil), &y), "AppendJSON produced invalid JSON")
		require.Equal(t, x.EventID, y.EventID)
		require.Equal(t, x.Hostname, y.Hostname)
		require.Equal(t, x.Description, y.Description)
		require.Equal(t, x.RuleID, y.RuleID)
		require.Equal(t, x.Meta, y.Meta)
		require.Equal(t, x.Severity, y.Severity)
		require.JSONEq(t, string(orNull(x.Original)), string(orNull(y.Original)))
	})
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func BenchmarkAppendJSON(b *testing.B) {
	sev := 2
	a := Alert{EventID: "0195f1c2-aaaa-7bbb-8ccc-000000000001", CorrelationID: "corr-1",
		ReceivedAt: time.Now(), EventTime: time.Now(), Hostname: "core-sw-01", RuleID: 42,
		Handling: "page_and_ticket", Environment: "prod", Team: "NETO", Severity: &sev,
		Description: "Link down on Gi0/1", Signature: "core-sw-01:42",
		Original: json.RawMessage(`{"hostname":"core-sw-01","message":"Link down on Gi0/1","timestamp":"2025-01-01T00:00:00Z"}`)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = a.AppendJSON(buf[:0])
	}
}
