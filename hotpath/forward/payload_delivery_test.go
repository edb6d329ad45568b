package forward_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/stream"
)

// TestDeliveredEventsAreAppendEvent: whatever the alerts of a read look like
// (events longer than their entries, strings encoding/json must decode,
// defaults), and through a retry, each event Moogsoft receives is
// AppendEvent of the alert, byte for byte. accept builds them in buffers
// shared by a read, which this would catch one alert overwriting, and sends
// each body with a Content-Length, as for a byte slice.
func TestDeliveredEventsAreAppendEvent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string][]byte{}
	var framing []string // requests not sent with a Content-Length
	r := newRig(t, moogsim.Options{}, map[string]string{"moog_batch_size": "7", "forwarder_batch_size": "50"},
		func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, err := io.ReadAll(req.Body)
				var batch struct {
					Events []json.RawMessage `json:"events"`
				}
				mu.Lock()
				if req.ContentLength != int64(len(body)) || len(req.TransferEncoding) > 0 {
					framing = append(framing, fmt.Sprintf("Content-Length %d, Transfer-Encoding %q, body %d bytes",
						req.ContentLength, req.TransferEncoding, len(body)))
				}
				mu.Unlock()
				if err == nil && json.Unmarshal(body, &batch) == nil {
					mu.Lock()
					for _, ev := range batch.Events {
						var id struct {
							ExternalID string `json:"external_id"`
						}
						if json.Unmarshal(ev, &id) == nil {
							got[id.ExternalID] = ev
						}
					}
					mu.Unlock()
				}
				req.Body = io.NopCloser(bytes.NewReader(body))
				next.ServeHTTP(w, req)
			})
		})
	r.sim.Fail(http.StatusServiceUnavailable, 2) // the first requests are retried
	want := map[string][]byte{}
	var payloads [][]byte
	var ids []string
	for i := range 120 {
		sev := i % 8
		a := event.Alert{EventID: uuid.NewString(), CorrelationID: fmt.Sprint("c", i), ReceivedAt: time.Now(),
			Hostname: "h", RuleID: int64(i), Handling: "page_only", Environment: "prod", Team: "T", Severity: &sev,
			Description: "d", Signature: "s", Original: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)}
		switch i % 6 {
		case 1:
			a.Description = strings.Repeat("\u2028", 300) // written escaped: the event outgrows its entry
		case 2:
			a.Description = strings.Repeat("long ", 2000)
		case 3:
			a.Hostname, a.Signature, a.Team = `quote " and \ backslash`, "", "" // decoded by encoding/json
		case 4:
			a.Original = json.RawMessage(`{"big":"` + strings.Repeat("x", 3000) + `"}`)
		case 5:
			a.Severity, a.Hostname = nil, ""
		}
		data, err := json.Marshal(a)
		require.NoError(t, err)
		var decoded event.Alert
		require.NoError(t, json.Unmarshal(data, &decoded))
		want[a.EventID] = forward.AppendEvent(nil, &decoded)
		payloads = append(payloads, data)
		ids = append(ids, a.EventID)
	}
	require.NoError(t, stream.Add(r.ctx, r.rdb, r.keys.AlertStream(0), payloads))
	r.start("a", "")
	r.waitDelivered(ids)

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, framing)
	for id, w := range want {
		require.Equal(t, string(w), string(got[id]), "event %s", id)
	}
}
