package syslog_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/stream"
)

// benchMsg is a typical RFC 5424 line of about 140 bytes.
func benchMsg(i int) string {
	return fmt.Sprintf("<187>1 2026-03-04T05:06:07.123Z rtr%d.example.com ifmgr 4242 LINK - %%LINK-3-UPDOWN: Interface Gi0/%d changed state to down\n", i%50, i%48)
}

// raiseLimits lifts the default ingest rate and backlog limits, which a
// benchmark would otherwise measure instead of the listener.
func raiseLimits(b *testing.B, r *rig) {
	ctx := context.Background()
	require.NoError(b, dynconfig.Set(ctx, r.rdb, r.keys, "ingest_max_rate", "0"))
	require.NoError(b, dynconfig.Set(ctx, r.rdb, r.keys, "max_ingest_queue_size", "100000000"))
	require.Eventually(b, func() bool { return r.dyn.Int(dynconfig.IngestMaxRate) == 0 }, 5*time.Second, 10*time.Millisecond)
}

func waitLen(b *testing.B, r *rig, want int64, limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	for {
		n, err := stream.Depth(context.Background(), r.rdb, r.keys.IngestStreams()...) // events: an entry may hold several (ADR 0048)
		require.NoError(b, err)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkTCPIntake: events/s and bytes/s from four TCP senders (LF
// framing) until every event is on the ingest stream.
func BenchmarkTCPIntake(b *testing.B) {
	r := newRig(b, rigOpts{runDyn: true, cfg: syslog.Config{TCPAddr: "127.0.0.1:0"}})
	raiseLimits(b, r)
	const conns = 4
	per := max(1, b.N/conns)
	payloads := make([][]byte, conns)
	size := 0
	for c := range conns {
		var buf []byte
		for i := range per {
			buf = append(buf, benchMsg(c*per+i)...)
		}
		payloads[c] = buf
		size += len(buf)
	}
	b.SetBytes(int64(size / (conns * per)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			conn, err := net.Dial("tcp", r.rcv.TCPAddr().String())
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := conn.Write(payloads[c]); err != nil {
				b.Error(err)
			}
			_ = conn.Close()
		})
	}
	wg.Wait()
	got := waitLen(b, r, int64(conns*per), 5*time.Minute)
	el := time.Since(start)
	b.StopTimer()
	require.EqualValues(b, conns*per, got, "TCP loses nothing")
	b.ReportMetric(float64(got)/el.Seconds(), "events/s")
	b.ReportMetric(float64(size)/el.Seconds()/(1<<20), "MiB/s")
}

// BenchmarkUDPLoss offers datagrams at fixed rates for one second each and
// reports the share that did not reach the ingest stream.
func BenchmarkUDPLoss(b *testing.B) {
	for _, rate := range []int{10000, 50000, 100000, 200000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			r := newRig(b, rigOpts{runDyn: true, cfg: syslog.Config{UDPAddr: "127.0.0.1:0", UDPReceiveBuffer: 4 << 20}})
			raiseLimits(b, r)
			conn, err := net.Dial("udp", r.rcv.UDPAddr().String())
			require.NoError(b, err)
			defer func() { _ = conn.Close() }()
			msgs := make([][]byte, 1000)
			for i := range msgs {
				msgs[i] = []byte(benchMsg(i))
			}
			b.ResetTimer()
			sent := 0
			for range b.N {
				// One second at rate, in 1 ms slices.
				start := time.Now()
				for ms := range 1000 {
					for sent < (ms+1)*rate/1000+b.N*0 {
						_, _ = conn.Write(msgs[sent%len(msgs)])
						sent++
					}
					if d := time.Until(start.Add(time.Duration(ms+1) * time.Millisecond)); d > 0 {
						time.Sleep(d)
					}
				}
			}
			got := waitLen(b, r, int64(sent), 3*time.Second)
			b.StopTimer()
			b.ReportMetric(100*float64(int64(sent)-got)/float64(sent), "%lost")
			b.ReportMetric(float64(rate), "offered/s")
		})
	}
}
