package migration

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
)

// FuzzConvert feeds arbitrary Python queue items (outside input: whatever a
// Python MUTT left in Redis) through the conversion: it never panics, and
// what it puts on a stream is valid JSON of the right kind or a DLQ entry.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(`{"hostname": "r1", "message": "LINK-DOWN", "timestamp": "2025-11-10T08:00:00Z", "_correlation_id": "c"}`), false)
	f.Add([]byte(`{"api_key": "k", "hostname": "MUTT_Alerter", "team_assignment": "NETO", "message_body": "x", "raw_json": {"timestamp": "2025-11-10T08:00:00Z"}}`), true)
	f.Add([]byte(`not json`), true)
	f.Add([]byte(`{"hostname": 5}`), false)
	o := RedisOptions{Keys: keyspace.New("f:", 3), Now: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, item []byte, alerts bool) {
		target, fields := convert(item, alerts, o)
		if len(fields) == 0 || len(fields)%2 != 0 {
			t.Fatalf("fields %v", fields)
		}
		if target == o.Keys.AlerterDLQ() || target == o.Keys.MoogDLQ() {
			return
		}
		payload, _ := fields[1].([]byte)
		if !json.Valid(payload) {
			t.Fatalf("invalid JSON on %s: %q", target, payload)
		}
		if alerts {
			var a event.Alert
			if err := json.Unmarshal(payload, &a); err != nil || a.EventID == "" {
				t.Fatalf("alert %q: %v", payload, err)
			}
		}
	})
}
