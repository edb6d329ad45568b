package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// addAckScript adds ARGV[4 .. ARGV[2]+3] as entries of KEYS[1], then
// acknowledges and deletes the ARGV[3] entry ids after them in the group
// ARGV[1] of KEYS[2] (ackdel: with KEYS[3], KEYS[2]'s counter, it subtracts
// their messages, counted by the ARGV after the ids when there are any). A
// failed XADD ends the script before anything is acknowledged (a script,
// unlike MULTI, stops at the first error), so an entry is never
// acknowledged without its payloads.
//
// When the first id is no longer pending, the batch was acknowledged already
// (a retry whose first attempt ran but whose reply was lost, or another
// consumer that reclaimed the entries and finished them): nothing is added
// again and the script returns -1.
var addAckScript = redis.NewScript(ackDelLua + `
local n = tonumber(ARGV[2])
local k = tonumber(ARGV[3])
local first = n + 4
if k > 0 then
  local id = ARGV[first]
  if #redis.call('XPENDING', KEYS[2], ARGV[1], id, id, 1) == 0 then
    return -1
  end
end
for i = 4, n + 3 do
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
end
if k > 0 then
  local countsAt = nil
  if #ARGV > first + k - 1 then countsAt = first + k end
  ackdel(KEYS[2], KEYS[3], ARGV[1], first, k, countsAt)
end
return n
`)

// AddAndAck appends payloads to stream and then acknowledges and deletes
// entries of the consumer's stream, in one round trip and one atomic
// script: nothing is acknowledged unless every payload was added. stream
// must hash to the same Redis Cluster slot as the consumer's stream
// (keyspace gives shard n of every stream the hash tag {n}). A retry after
// an error whose script did run adds nothing twice (the first entry is no
// longer pending).
func (c *Consumer) AddAndAck(ctx context.Context, stream string, payloads [][]byte, entries ...Entry) error {
	if len(payloads) == 0 && len(entries) == 0 {
		return nil
	}
	ids, events := idsOf(entries)
	args := make([]any, 0, 3+len(payloads)+2*len(ids))
	args = append(args, c.opts.Group, strconv.Itoa(len(payloads)), strconv.Itoa(len(ids)))
	for _, p := range payloads {
		args = append(args, p)
	}
	keys := []string{stream, c.opts.Stream}
	if c.opts.Counter != "" {
		keys = append(keys, c.opts.Counter)
		args = ackArgs(args, ids, events)
	} else {
		args = ackArgs(args, ids, nil)
	}
	if err := addAckScript.Run(ctx, c.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("add %d to %s and ack %d entries on %s: %w", len(payloads), stream, len(ids), c.opts.Stream, err)
	}
	c.metrics.acked.WithLabelValues(c.opts.Stream).Add(float64(len(ids)))
	return nil
}
