package moogsim_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// forwarderBody is a request body as `muttdev bench` has the forwarder send
// it (moog_batch_size 100): {"events":[...]} of alerts shaped as
// hotpath/forward's AppendEvent writes them (see its payload test), each with
// a UUID external_id and custom_info.event_id and an RFC3339Nano
// custom_info.received_at. idAt lists the offsets of the last 12 hex digits of
// every id, for the benchmark to make each request's ids new.
func forwarderBody(n int) (body []byte, idAt []int) {
	received := time.Now().Add(-40 * time.Millisecond).UTC()
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf("0195f1c2-aaaa-7bbb-8ccc-%012x", i)
		host := fmt.Sprintf("router%d.prod.example.com", i%50)
		msg := fmt.Sprintf("%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN", i%48)
		at := received.Add(time.Duration(i) * 137 * time.Microsecond)
		fmt.Fprintf(&b, `{"signature":"%s:42","source_id":"%s","external_id":"`, host, host)
		idAt = append(idAt, b.Len()+24)
		fmt.Fprintf(&b, `%s","manager":"MUTT","source":"MUTT Alerter","class":"NETO","agent":"MUTT",`+
			`"agent_location":"Alerter Service","type":"Alert","severity":5,"description":"%s","agent_time":%d,`+
			`"custom_info":{"event_id":"`, id, msg, at.Unix())
		idAt = append(idAt, b.Len()+24)
		fmt.Fprintf(&b, `%s","correlation_id":"corr-%d","rule_id":42,"handling":"page_and_ticket",`+
			`"environment":"prod","team":"NETO","received_at":"%s","meta":false,`+
			`"event":{"hostname":"%s","timestamp":"%s","message":"%s","syslog_severity":"error","source_type":"cisco-ios"}}}`,
			id, i, at.Format(time.RFC3339Nano), host, at.Format(time.RFC3339Nano), msg)
	}
	b.WriteString(`]}`)
	return b.Bytes(), idAt
}

// stampIDs writes seq into the ids of the body's events (one id per event,
// twice: external_id and custom_info.event_id).
func stampIDs(body []byte, idAt []int, seq uint64) {
	for k := 0; k < len(idAt); k += 2 {
		v := seq*uint64(len(idAt)/2) + uint64(k/2)
		for j := 11; j >= 0; j-- {
			d := "0123456789abcdef"[v&15]
			body[idAt[k]+j], body[idAt[k+1]+j] = d, d
			v >>= 4
		}
	}
}

// reusedBody is a request body that allocates nothing per request.
type reusedBody struct{ *bytes.Reader }

func (reusedBody) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkHandleEvents is POST /events with a forwarder's batch of 100
// alerts, new ids every request (the simulator tracks each), as in `muttdev
// bench`. ns/alert is the figure to compare with bench's moog-sim CPU per alert.
func BenchmarkHandleEvents(b *testing.B) {
	const alerts = 100
	body, idAt := forwarderBody(alerts)
	sim := moogsim.New(moogsim.Options{})
	h := sim.Handler()
	req := httptest.NewRequest(http.MethodPost, "/events", nil)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	rd := bytes.NewReader(body)
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		stampIDs(body, idAt, seq)
		seq++
		rd.Reset(body)
		req.Body = reusedBody{rd}
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*alerts), "ns/alert")
	if got := sim.Unique(); got != int(seq)*alerts {
		b.Fatalf("unique %d, want %d", got, int(seq)*alerts)
	}
}
