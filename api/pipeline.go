package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/stream"
)

// StreamDepth is the backlog of one Redis stream: for an ingest or alert
// stream the events or alerts it holds, from the stream's counter (an entry
// may hold several, ADR 0048, ADR 0049; stream.Depths), for a DLQ its
// entries (XLEN: not yet acknowledged and deleted, since Ack is XACK+XDEL),
// one dead letter each.
type StreamDepth struct {
	Stream string `json:"stream"`
	Length int64  `json:"length"`
}

// BreakerState is the Moogsoft circuit breaker shared by every forwarder.
type BreakerState struct {
	State    string `json:"state"` // closed, open or half_open; closed when the hash does not exist
	Failures int64  `json:"failures"`
}

// PipelineState is GET /api/v*/pipeline: the hot path's queues as Redis sees
// them now. Read-only, so the read-only key may call it.
type PipelineState struct {
	GeneratedAt   time.Time     `json:"generated_at"`
	IngestStreams []StreamDepth `json:"ingest_streams"`
	AlertStreams  []StreamDepth `json:"alert_streams"`
	IngestBacklog int64         `json:"ingest_backlog"` // events, summed over ingest shards
	AlertBacklog  int64         `json:"alert_backlog"`  // alerts, summed over alert shards
	DLQ           []StreamDepth `json:"dlq"`
	Breaker       BreakerState  `json:"circuit_breaker"`
}

func (s *Server) registerPipeline(g *gin.RouterGroup, _ string) {
	g.GET("/pipeline", s.pipelineState)
}

// poisonDLQ is the dead-letter stream of entries that can never be processed.
func (s *Server) poisonDLQ() string { return s.o.Keys.PoisonDLQ() }

func (s *Server) pipelineState(c *gin.Context) {
	ingest := s.o.Keys.IngestStreams()
	alerts := s.o.Keys.AlertStreams()
	dlqs := []string{s.o.Keys.AlerterDLQ(), s.o.Keys.MoogDLQ(), s.poisonDLQ()}
	var ingestLens, alertLens, dlqLens []func() int64
	var breaker *redis.MapStringStringCmd
	// One round trip; XLEN of a missing stream is 0. An ingest or alert
	// stream's backlog is in events or alerts, read from its counter
	// (stream.QueueDepth: an entry may hold several, ADR 0048, ADR 0049).
	_, err := s.o.Redis.Pipelined(c, func(p redis.Pipeliner) error {
		for _, k := range ingest {
			ingestLens = append(ingestLens, stream.QueueDepth(c, p, k))
		}
		for _, k := range alerts {
			alertLens = append(alertLens, stream.QueueDepth(c, p, k))
		}
		for _, k := range dlqs {
			dlqLens = append(dlqLens, p.XLen(c, k).Val)
		}
		breaker = p.HGetAll(c, s.o.Keys.CircuitBreaker())
		return nil
	})
	if err != nil {
		s.unavailable(c, "redis unavailable", fmt.Errorf("read pipeline state: %w", err))
		return
	}
	depths := func(keys []string, lengths []func() int64) ([]StreamDepth, int64) {
		out := make([]StreamDepth, len(keys))
		var sum int64
		for i, k := range keys {
			out[i] = StreamDepth{Stream: k, Length: lengths[i]()}
			sum += out[i].Length
		}
		return out, sum
	}
	out := PipelineState{GeneratedAt: s.o.Now().UTC()}
	out.IngestStreams, out.IngestBacklog = depths(ingest, ingestLens)
	out.AlertStreams, out.AlertBacklog = depths(alerts, alertLens)
	out.DLQ, _ = depths(dlqs, dlqLens)
	h := breaker.Val()
	out.Breaker.State = h["state"]
	if out.Breaker.State == "" {
		out.Breaker.State = "closed"
	}
	// A malformed counter reads as zero rather than failing the whole view.
	if n, err := strconv.ParseInt(h["failures"], 10, 64); err == nil && n > 0 {
		out.Breaker.Failures = n
	}
	c.JSON(http.StatusOK, out)
}
