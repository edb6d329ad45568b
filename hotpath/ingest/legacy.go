package ingest

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/mutt-ops/mutt/internal/correlation"
	"github.com/mutt-ops/mutt/internal/event"
)

// DecodeQueued turns one event as the Python MUTT v2.x left it in its ingest
// queue (the client's object plus "_correlation_id", perhaps "_retry_count")
// into the entry the ingestor would have added: the same validation, a new
// event id, the Python correlation id when it is one we accept, reserved
// fields stripped. It returns the envelope, its stream payload and its shard
// among shards. Used by `mutt migrate from-python` to drain the old queues.
func DecodeQueued(raw []byte, receivedAt time.Time, shards int) (event.Envelope, []byte, int, error) {
	var cid struct {
		ID string `json:"_correlation_id"`
	}
	_ = json.Unmarshal(raw, &cid) // an unreadable object fails below with the ingestor's message
	d := &decoder{maxBatch: 1, maxField: DefaultMaxFieldBytes, maxDepth: DefaultMaxDepth, newID: uuid.NewV7}
	envs, err := d.decode(raw, stamp{correlationID: correlation.FromHeader(cid.ID), receivedAt: receivedAt})
	if err != nil {
		return event.Envelope{}, nil, 0, err
	}
	e := envs[0]
	return e, appendEnvelope(nil, &e), shardOf(e.Hostname, shards), nil
}
