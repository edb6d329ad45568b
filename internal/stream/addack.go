package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// addAckScript adds ARGV[2] entries to KEYS[1] — ARGV[4], ARGV[6], … the
// data, ARGV[5], ARGV[7], … their message counts (ADR 0049) — and adds the
// messages to KEYS[2], KEYS[1]'s counter, then acknowledges and deletes the
// ARGV[3] entry ids after them in the group ARGV[1] of KEYS[3] (ackdel: with
// KEYS[4], KEYS[3]'s counter, it subtracts their messages, counted by the
// ARGV after the ids when there are any). A failed XADD ends the script
// before anything is counted or acknowledged (a script, unlike MULTI, stops
// at the first error), so an entry is never acknowledged without its
// payloads.
//
// A target counter that does not exist starts from the target's length
// before the add: entries already there were written one message each
// (before counters, ADR 0049) or the stream is empty.
//
// When the first id is no longer pending, the batch was acknowledged already
// (a retry whose first attempt ran but whose reply was lost, or another
// consumer that reclaimed the entries and finished them): nothing is added
// again and the script returns -1.
var addAckScript = redis.NewScript(ackDelLua + `
local n = tonumber(ARGV[2])
local k = tonumber(ARGV[3])
local first = 2 * n + 4
if k > 0 then
  local id = ARGV[first]
  if #redis.call('XPENDING', KEYS[3], ARGV[1], id, id, 1) == 0 then
    return -1
  end
end
if n > 0 then
  local added = 0
  if redis.call('EXISTS', KEYS[2]) == 0 then added = redis.call('XLEN', KEYS[1]) end
  for i = 4, 2 * n + 2, 2 do
    local c = tonumber(ARGV[i + 1])
    if c > 1 then
      redis.call('XADD', KEYS[1], '*', '` + Field + `', ARGV[i], '` + EventsField + `', c)
    else
      redis.call('XADD', KEYS[1], '*', '` + Field + `', ARGV[i])
    end
    added = added + c
  end
  redis.call('INCRBY', KEYS[2], added)
end
if k > 0 then
  local countsAt = nil
  if #ARGV > first + k - 1 then countsAt = first + k end
  ackdel(KEYS[3], KEYS[4], ARGV[1], first, k, countsAt)
end
return n
`)

// AddAndAck appends payloads (messages: each a JSON value) to stream and
// then acknowledges and deletes entries of the consumer's stream, in one
// round trip and one atomic script: nothing is acknowledged unless every
// payload was added. The payloads go as few entries as Pack makes, and
// stream's counter (CounterKey) grows by their number. stream must hash to
// the same Redis Cluster slot as the consumer's stream (keyspace gives shard
// n of every stream the hash tag {n}). A retry after an error whose script
// did run adds nothing twice (the first entry is no longer pending).
func (c *Consumer) AddAndAck(ctx context.Context, stream string, payloads [][]byte, entries ...Entry) error {
	if len(payloads) == 0 && len(entries) == 0 {
		return nil
	}
	ids, events := idsOf(entries)
	packed, counts := Pack(payloads)
	args := make([]any, 0, 3+2*len(packed)+2*len(ids))
	args = append(args, c.opts.Group, strconv.Itoa(len(packed)), strconv.Itoa(len(ids)))
	for i, p := range packed {
		args = append(args, p, counts[i])
	}
	keys := []string{stream, CounterKey(stream), c.opts.Stream}
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

// Pack groups msgs (each a JSON value) in order into entries of at most
// MaxPerEntry: a message alone as it is, several as a JSON array of them
// (ADR 0048's format); counts[i] is how many entries[i] holds. The arrays
// share one allocation; a single message is not copied.
func Pack(msgs [][]byte) (entries [][]byte, counts []int) {
	if len(msgs) == 0 {
		return nil, nil
	}
	k := (len(msgs) + MaxPerEntry - 1) / MaxPerEntry
	entries, counts = make([][]byte, 0, k), make([]int, 0, k)
	size := 0
	for _, m := range msgs {
		size += len(m) + 1
	}
	buf := make([]byte, 0, size+2*k)
	for len(msgs) > 0 {
		// Even chunks: 101 messages go as 51 and 50, not 100 and 1.
		n := (len(msgs) + k - 1) / k
		k--
		if n == 1 {
			entries, counts = append(entries, msgs[0]), append(counts, 1)
			msgs = msgs[1:]
			continue
		}
		start := len(buf)
		buf = AppendArray(buf, msgs[:n])
		entries, counts = append(entries, buf[start:len(buf):len(buf)]), append(counts, n)
		msgs = msgs[n:]
	}
	return entries, counts
}

// AppendArray appends msgs (each a JSON value) to dst as one JSON array:
// the Field of an entry that holds several (ADR 0048).
func AppendArray(dst []byte, msgs [][]byte) []byte {
	dst = append(dst, '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m...)
	}
	return append(dst, ']')
}
