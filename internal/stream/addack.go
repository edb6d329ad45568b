package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// addAckScript adds ARGV[3 .. ARGV[2]+2] as entries of KEYS[1], then
// acknowledges and deletes the remaining ARGV (entry ids) in the group
// ARGV[1] of KEYS[2]. A failed XADD ends the script before anything is
// acknowledged (a script, unlike MULTI, stops at the first error), so an
// entry is never acknowledged without its payloads. The ids go in chunks:
// unpack() of more than a few thousand values overflows Lua's C stack.
//
// When the first id is no longer pending, the batch was acknowledged already
// (a retry whose first attempt ran but whose reply was lost, or another
// consumer that reclaimed the entries and finished them): nothing is added
// again and the script returns -1.
var addAckScript = redis.NewScript(`
local n = tonumber(ARGV[2])
if #ARGV > n + 2 then
  local id = ARGV[n + 3]
  if #redis.call('XPENDING', KEYS[2], ARGV[1], id, id, 1) == 0 then
    return -1
  end
end
for i = 3, n + 2 do
  redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
end
local first = n + 3
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)
  redis.call('XACK', KEYS[2], ARGV[1], unpack(ARGV, first, last))
  redis.call('XDEL', KEYS[2], unpack(ARGV, first, last))
  first = last + 1
end
return n
`)

// AddAndAck appends payloads to stream and then acknowledges and deletes
// ids on the consumer's stream, in one round trip and one atomic script:
// nothing is acknowledged unless every payload was added. stream must hash
// to the same Redis Cluster slot as the consumer's stream (keyspace gives
// shard n of every stream the hash tag {n}). A retry after an error whose
// script did run adds nothing twice (the first id is no longer pending).
func (c *Consumer) AddAndAck(ctx context.Context, stream string, payloads [][]byte, ids ...string) error {
	if len(payloads) == 0 && len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(payloads)+len(ids))
	args = append(args, c.opts.Group, strconv.Itoa(len(payloads)))
	for _, p := range payloads {
		args = append(args, p)
	}
	for _, id := range ids {
		args = append(args, id)
	}
	if err := addAckScript.Run(ctx, c.rdb, []string{stream, c.opts.Stream}, args...).Err(); err != nil {
		return fmt.Errorf("add %d to %s and ack %d entries on %s: %w", len(payloads), stream, len(ids), c.opts.Stream, err)
	}
	c.metrics.acked.WithLabelValues(c.opts.Stream).Add(float64(len(ids)))
	return nil
}
