package forward

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

func sev(n int) *int { return &n }

func TestAppendEventFields(t *testing.T) {
	t.Parallel()
	received := time.Date(2025, 3, 4, 5, 6, 7, 891000000, time.FixedZone("x", 3600))
	evTime := time.Date(2025, 3, 4, 4, 0, 0, 0, time.UTC)
	full := event.Alert{
		EventID: "0195f1c2-aaaa-7bbb-8ccc-000000000001", CorrelationID: "corr-1",
		ReceivedAt: received, EventTime: evTime, Hostname: "core-sw-01", RuleID: 42,
		Handling: "page_and_ticket", Environment: "prod", Team: "NETO", Severity: sev(2),
		Description: "Link down on Gi0/1", Signature: "core-sw-01:42",
		Original: json.RawMessage(`{"hostname":"core-sw-01","message":"Link down on Gi0/1","n":[1,2]}`),
	}
	for _, tc := range []struct {
		name   string
		alert  event.Alert
		want   map[string]any // top-level fields checked
		custom map[string]any // custom_info fields checked
	}{
		{
			name:  "handled alert",
			alert: full,
			want: map[string]any{
				"signature": "core-sw-01:42", "source_id": "core-sw-01", "external_id": full.EventID,
				"manager": "MUTT", "source": "MUTT Alerter", "class": "NETO", "agent": "MUTT",
				"agent_location": "Alerter Service", "type": "Alert", "severity": float64(5),
				"description": "Link down on Gi0/1", "agent_time": float64(evTime.Unix()),
			},
			custom: map[string]any{
				"event_id": full.EventID, "correlation_id": "corr-1", "rule_id": float64(42),
				"handling": "page_and_ticket", "environment": "prod", "team": "NETO",
				"received_at": "2025-03-04T04:06:07.891Z", "meta": false,
				"event": map[string]any{"hostname": "core-sw-01", "message": "Link down on Gi0/1",
					"n": []any{float64(1), float64(2)}},
			},
		},
		{
			name: "meta-alert without severity, team or event time",
			alert: event.Alert{EventID: "e2", ReceivedAt: received, Hostname: "h", Handling: "meta",
				Environment: "prod", Signature: "unhandled:h:abcd", Meta: true, Description: "100 unmatched"},
			want: map[string]any{"severity": float64(3), "class": "Unknown", "signature": "unhandled:h:abcd",
				"agent_time": float64(received.Unix())},
			custom: map[string]any{"rule_id": nil, "meta": true, "team": "", "event": nil, "handling": "meta"},
		},
		{
			name:   "no signature or hostname falls back like the peer",
			alert:  event.Alert{EventID: "e3", Severity: sev(6)},
			want:   map[string]any{"signature": "", "source_id": "unknown", "severity": float64(1)},
			custom: map[string]any{"received_at": nil, "correlation_id": ""},
		},
		{
			name:   "original that is not JSON travels as a string",
			alert:  event.Alert{EventID: "e4", Hostname: "h", Original: json.RawMessage(`{"broken"`), Severity: sev(3)},
			want:   map[string]any{"signature": "h", "severity": float64(4)},
			custom: map[string]any{"event": `{"broken"`},
		},
		{
			name: "strings needing escapes",
			alert: event.Alert{EventID: "e5", Hostname: "h\"1", Description: "line1\nline2\t\"q\" \\ <b>&\u2028\x01\xff",
				Severity: sev(5)},
			want: map[string]any{"source_id": "h\"1", "description": "line1\nline2\t\"q\" \\ <b>&\u2028\x01\ufffd",
				"severity": float64(2)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := AppendEvent(nil, &tc.alert)
			require.True(t, json.Valid(out), string(out))
			var got map[string]any
			require.NoError(t, json.Unmarshal(out, &got))
			for k, v := range tc.want {
				require.Equal(t, v, got[k], k)
			}
			custom, ok := got["custom_info"].(map[string]any)
			require.True(t, ok)
			for k, v := range tc.custom {
				require.Contains(t, custom, k)
				require.Equal(t, v, custom[k], "custom_info."+k)
			}
			require.Len(t, got, 13, "every Moogsoft field and nothing else")
			require.Len(t, custom, 9)
		})
	}
}

func TestAppendBody(t *testing.T) {
	t.Parallel()
	evs := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}
	require.Equal(t, `{"a":1}`, string(appendBody(nil, evs[:1], false)))
	require.Equal(t, `{"events":[{"a":1}]}`, string(appendBody(nil, evs[:1], true)))
	require.Equal(t, `{"events":[{"a":1},{"b":2}]}`, string(appendBody(nil, evs, true)))
}

func BenchmarkAppendEvent(b *testing.B) {
	a := event.Alert{EventID: "0195f1c2-aaaa-7bbb-8ccc-000000000001", CorrelationID: "corr-1",
		ReceivedAt: time.Now(), EventTime: time.Now(), Hostname: "core-sw-01", RuleID: 42,
		Handling: "page_and_ticket", Environment: "prod", Team: "NETO", Severity: sev(2),
		Description: "Link down on Gi0/1", Signature: "core-sw-01:42",
		Original: json.RawMessage(`{"hostname":"core-sw-01","message":"Link down on Gi0/1","timestamp":"2025-01-01T00:00:00Z"}`)}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], &a)
	}
}

func TestPartsReaderReadsTheBody(t *testing.T) {
	evs := [][]byte{[]byte(`{"a":1}`), []byte(`{"bb":22}`), []byte(`{}`)}
	for _, batched := range []bool{false, true} {
		want := appendBody(nil, evs, batched)
		parts := bodyParts(nil, evs, batched)
		for _, chunk := range []int{1, 2, 5, 64} {
			r := &partsReader{parts: parts}
			var got []byte
			buf := make([]byte, chunk)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
			require.Equal(t, string(want), string(got), "chunk %d", chunk)
		}
		all, err := io.ReadAll(&partsReader{parts: parts}) // the parts are unchanged
		require.NoError(t, err)
		require.Equal(t, string(want), string(all))
	}
}
