package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// Reasons of a *Refused.
const (
	// RefusedRateLimited: the global ingest rate limit (ingest_max_rate
	// events per ingest_rate_window) has no room for the batch now.
	RefusedRateLimited = "rate_limited"
	// RefusedQueueFull: the ingest backlog is at max_ingest_queue_size.
	RefusedQueueFull = "queue_full"
	// RefusedRedis: Redis did not answer; nothing was queued.
	RefusedRedis = "redis"
	// RefusedRedisMemory: Redis is at its maxmemory and refuses writes;
	// nothing was queued.
	RefusedRedisMemory = "redis_memory"
	// RefusedTooLarge: the batch has more events than the rate limit allows
	// in one window, so retrying it whole can never succeed: split it.
	RefusedTooLarge = "too_large"
)

// Refused is Submit's refusal: nothing of the call was queued, and the same
// events may be submitted again after RetryAfter.
type Refused struct {
	Reason     string        // RefusedRateLimited, RefusedQueueFull, RefusedRedis, RefusedRedisMemory or RefusedTooLarge
	RetryAfter time.Duration // how long to wait before retrying (0 for too_large)
	Message    string        // what an operator reads in a log
}

func (r *Refused) Error() string { return "ingest refused (" + r.Reason + "): " + r.Message }

// Submit stamps envs (event_id UUIDv7, received_at, a generated
// correlation_id when empty, Source = source) and queues them through the
// same path as HTTP ingest: the global rate limit (ingest_max_rate, in
// events), the backlog limit (max_ingest_queue_size), the same shards, the
// dashboard counters, and the metrics with a source label. It returns the
// event ids in the order of envs. A refusal is a *Refused; nothing of a
// refused call is queued (the same events may be submitted again, and get
// new event ids then). Any other error is a caller's mistake: an unknown
// source, or an envelope without hostname, timestamp or a JSON original.
//
// Submit writes the stamps into envs.
func (s *Server) Submit(ctx context.Context, source string, envs []event.Envelope) ([]string, error) {
	if !slices.Contains(event.Sources(), source) {
		return nil, fmt.Errorf("ingest: unknown source %q", source)
	}
	if len(envs) == 0 {
		return nil, nil
	}
	for i := range envs {
		e := &envs[i]
		switch {
		case e.Hostname == "":
			return nil, fmt.Errorf("ingest: event %d: empty hostname", i)
		case len(e.Hostname) > MaxHostnameBytes:
			return nil, fmt.Errorf("ingest: event %d: hostname longer than %d bytes", i, MaxHostnameBytes)
		case e.Timestamp.IsZero():
			return nil, fmt.Errorf("ingest: event %d: no timestamp", i)
		case e.Timestamp.Year() < 0 || e.Timestamp.Year() > 9999:
			return nil, fmt.Errorf("ingest: event %d: timestamp year %d outside 0-9999", i, e.Timestamp.Year())
		case len(e.Original) == 0 || !jsonenc.Valid(e.Original):
			return nil, fmt.Errorf("ingest: event %d: original is not JSON", i)
		}
	}
	receivedAt := s.now().UTC()
	// The ids come from the HTTP decoder's source: one sequence for both.
	uuids := make([]uuid.UUID, len(envs))
	var random []byte
	if err := s.dec.ids.fill(uuids, &random); err != nil {
		return nil, fmt.Errorf("generate event id: %w", err)
	}
	ids := make([]string, len(envs))
	for i, id := range uuids {
		e := &envs[i]
		e.EventID, e.ReceivedAt, e.Source = id.String(), receivedAt, source
		if e.CorrelationID == "" {
			e.CorrelationID = uuid.NewString()
		}
		// jsonenc.AppendTime needs an offset under 24 h; UTC always has one.
		e.Timestamp = e.Timestamp.UTC()
		ids[i] = e.EventID
	}
	cid := envs[0].CorrelationID
	if _, err := s.queue(ctx, envs, receivedAt, cid); err != nil {
		s.m.countEvents(source, "rejected", len(envs))
		var re *requestError
		if !errors.As(err, &re) {
			return nil, err
		}
		r := &Refused{RetryAfter: time.Duration(re.retryAfter) * time.Second, Message: re.msg}
		switch re.reason {
		case reasonRateLimit:
			r.Reason = RefusedRateLimited
		case reasonQueueFull:
			r.Reason = RefusedQueueFull
		case reasonTooLarge:
			r.Reason, r.RetryAfter = RefusedTooLarge, 0
		case reasonRedisMemory:
			r.Reason = RefusedRedisMemory
		default:
			r.Reason = RefusedRedis
		}
		return nil, r
	}
	s.m.countEvents(source, "accepted", len(envs))
	s.log.Debug("queued events", "source", source, "count", len(envs), "correlation_id", cid)
	return ids, nil
}
