package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// batchBody is a 500-event JSON array shaped like the peer's sample data:
// syslog events with 7 fractional digits and a severity name, and every
// tenth one an SNMP trap with source_ip and variables.
func batchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%10 == 9 {
			fmt.Fprintf(&b, `{"source_ip":"10.1.%d.%d","timestamp":"2025-01-02T03:04:%02d.1234567Z","trap_oid":"1.3.6.1.6.3.1.1.5.%d",`+
				`"variables":["@{oid=1.3.6.1.2.1.2.2.1.1.%d; value=%d}","@{oid=1.3.6.1.2.1.2.2.1.7.%d; value=2}"],"severity":"Major"}`,
				i/256, i%256, i%60, i%6+1, i, i, i)
			continue
		}
		fmt.Fprintf(&b, `{"hostname":"edge-router-%03d.dc1.example.net","timestamp":"2025-01-02T03:04:%02d.1234567Z",`+
			`"message":"%%LINK-3-UPDOWN: Interface GigabitEthernet0/%d, changed state to down","syslog_severity":"Error","source_type":"cisco-ios"}`,
			i%100, i%60, i%48)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// BenchmarkDecode500 is decode and validate of one 500-event batch (what
// a request costs before Redis). ns/event is the figure to watch.
func BenchmarkDecode500(b *testing.B) {
	body := batchBody(500)
	d := &decoder{maxBatch: DefaultMaxBatch, maxField: DefaultMaxFieldBytes, maxDepth: DefaultMaxDepth, newID: uuid.NewV7}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		envs, err := d.decode(body, testStamp)
		if err != nil || len(envs) != 500 {
			b.Fatalf("decode: %d events, %v", len(envs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
}

// BenchmarkDecodeEncode500 adds encoding the 500 envelopes as stream
// payloads: everything the handler does to a batch except Redis and HTTP.
func BenchmarkDecodeEncode500(b *testing.B) {
	body := batchBody(500)
	d := &decoder{maxBatch: DefaultMaxBatch, maxField: DefaultMaxFieldBytes, maxDepth: DefaultMaxDepth, newID: uuid.NewV7}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		envs, err := d.decode(body, testStamp)
		if err != nil {
			b.Fatal(err)
		}
		if p := encodePayloads(envs); len(p) != 500 {
			b.Fatalf("%d payloads", len(p))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
}

// BenchmarkPick is sorting the members of the 500 events of batchBody into
// the fields the pipeline reads (the per-member key lookup), per event.
func BenchmarkPick(b *testing.B) {
	body := batchBody(500)
	d := &decoder{maxBatch: DefaultMaxBatch, maxField: DefaultMaxFieldBytes, maxDepth: DefaultMaxDepth, newID: uuid.NewV7}
	var events [][]member
	for i := 1; i < len(body) && body[i] == '{'; {
		members, end, err := d.scanObject(body, i, len(events), nil)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, members)
		i = end + 1
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, members := range events {
			if f := pick(members); f.timestamp == nil {
				b.Fatal("no timestamp")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

// BenchmarkIngest100 is one POST of a 100-event JSON array through the
// handler against the real Redis: authentication, decode, rate limit,
// enqueue script, dashboard counters and the answer (no network), with a
// dashboard tally as the pipeline runs it. accepted empties the stream every
// 100 requests so the backlog bound never refuses; refused keeps the backlog
// at its bound, so every request is answered 503 (what most requests get
// while the pipeline is overloaded).
func BenchmarkIngest100(b *testing.B) {
	for _, name := range []string{"accepted", "refused"} {
		refused := name == "refused"
		b.Run(name, func(b *testing.B) {
			rdb, keys := testenv.Redis(b)
			ctx := context.Background()
			require.NoError(b, dynconfig.Set(ctx, rdb, keys, dynconfig.IngestMaxRate.Name(), "1000000000"))
			want := http.StatusOK
			if refused {
				require.NoError(b, dynconfig.Set(ctx, rdb, keys, dynconfig.MaxIngestQueueSize.Name(), "1"))
				_, err := stream.Push(ctx, rdb, keys.IngestStream(0), 0, [][]byte{[]byte(`{}`)}, nil)
				require.NoError(b, err)
				want = http.StatusServiceUnavailable
			}
			dyn := dynconfig.NewStore(rdb, keys, slog.New(slog.DiscardHandler))
			require.NoError(b, dyn.Reload(ctx))
			s, err := New(Options{Config: Config{APIKeys: []string{"k"}}, Redis: rdb, Keys: keys, Dyn: dyn, Registerer: prometheus.NewRegistry(),
				Tally: tally.New(rdb, keys, nil)})
			require.NoError(b, err)
			h := s.Handler()
			body := batchBody(100)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i++; i%100 == 0 && !refused {
					require.NoError(b, rdb.Del(ctx, keys.IngestStream(0)).Err())
				}
				r := httptest.NewRequest(http.MethodPost, "/ingest", bytes.NewReader(body))
				r.Header.Set("X-API-KEY", "k")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != want {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}
