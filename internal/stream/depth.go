package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// EventsField is the optional field of an entry that holds several messages
// (a JSON array in Field, ADR 0048): how many. An entry without it holds one.
const EventsField = "n"

// MaxPerEntry is the most messages a writer puts in one entry. The depth
// scripts rely on it to bound a counter that drifted (see heal in depthLua),
// and readers size their reads with it.
const MaxPerEntry = 100

// CounterKey is the key that holds the backlog of stream in messages, not
// entries (XLEN counts entries): stream + ":events", in the stream's Redis
// Cluster hash slot. Only the scripts that add and delete the stream's
// entries change it (Push, Enqueue, a Consumer with Options.Counter).
func CounterKey(stream string) string { return stream + ":events" }

// healLua is the backlog in messages of a stream of len entries whose
// counter holds c: what the counter says, within what the entries can hold
// (each entry holds 1 to MaxPerEntry messages). A missing counter (a stream
// written before counters existed, or reset) counts one message per entry;
// an empty stream has none, whatever the counter says.
var healLua = `
local function heal(c, len)
  c = tonumber(c) or 0
  if len == 0 then return 0 end
  if c < len then return len end
  if c > len * ` + strconv.Itoa(MaxPerEntry) + ` then return len * ` + strconv.Itoa(MaxPerEntry) + ` end
  return c
end
`

// heal is healLua in Go, for readers of the counter.
func heal(c int64, len int64) int64 {
	switch {
	case len == 0:
		return 0
	case c < len:
		return len
	case c > len*MaxPerEntry:
		return len * MaxPerEntry
	}
	return c
}

// ackDelLua acknowledges ARGV[first .. first+k-1] (entry ids) in group of
// stream and deletes them; with a counter, it subtracts the messages of the
// entries it deleted: ARGV[countsAt + i] for the i-th id, or 1 each when
// countsAt is nil. When every id was still pending every one is deleted here
// (an entry is acknowledged and deleted in one step everywhere), and the
// total is known without asking; otherwise each id is deleted alone to know
// which were. The ids go in chunks: unpack() of more than a few thousand
// values overflows Lua's C stack.
//
// At maxmemory Redis refuses DECRBY in a script that did not declare
// allow-oom, but not XACK, XDEL or DEL: the subtraction is a pcall, so the
// entries are still acknowledged and deleted (freeing memory) and the
// counter, left too high, is healed by the next push (see heal) or reset
// when the stream is empty.
var ackDelLua = `
local function ackdel(stream, counter, group, first, k, countsAt)
  local last = first + k - 1
  local acked = 0
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    acked = acked + redis.call('XACK', stream, group, unpack(ARGV, i, j))
    i = j + 1
  end
  local gone = 0
  if acked == k or not counter then
    i = first
    while i <= last do
      local j = math.min(i + 999, last)
      redis.call('XDEL', stream, unpack(ARGV, i, j))
      i = j + 1
    end
    if not counter then return end
    if countsAt then
      for x = 0, k - 1 do gone = gone + tonumber(ARGV[countsAt + x]) end
    else
      gone = k
    end
  else
    for x = 0, k - 1 do
      if redis.call('XDEL', stream, ARGV[first + x]) == 1 then
        gone = gone + (countsAt and tonumber(ARGV[countsAt + x]) or 1)
      end
    end
  end
  if redis.call('XLEN', stream) == 0 then
    redis.call('DEL', counter)
  elseif gone > 0 then
    local v = redis.pcall('DECRBY', counter, gone)
    if type(v) == 'number' and v < 0 then redis.call('DEL', counter) end
  end
end
`

// countedAckScript is ackScript for a consumer with a counter: KEYS[1] the
// stream, KEYS[2] its counter; ARGV[1] the group, ARGV[2] k, then k ids and,
// when there are more ARGV, the k ids' message counts.
var countedAckScript = redis.NewScript(ackDelLua + `
local k = tonumber(ARGV[2])
local countsAt = nil
if #ARGV > k + 2 then countsAt = k + 3 end
ackdel(KEYS[1], KEYS[2], ARGV[1], 3, k, countsAt)
return k
`)

// ackArgs are the ARGV of countedAckScript and the tail of addAckScript's:
// the ids, then their message counts unless every entry holds one.
func ackArgs(args []any, ids []string, events []int64) []any {
	for _, id := range ids {
		args = append(args, id)
	}
	for _, n := range events {
		if n != 1 {
			for _, n := range events {
				args = append(args, max(n, 1))
			}
			break
		}
	}
	return args
}

// ReadCount is how many entries a reader that wants about batch messages
// asks for, when the entries of its last read held perEntry/1000 messages
// each (0 or 1000: one): batch entries of single messages, fewer of several.
// The last read does not say what the next entries hold: after a run of
// single messages, a read of batch entries could bring MaxPerEntry times
// as many. So a read never asks for more entries than max(10 × batch,
// 10 000) messages fill at MaxPerEntry each (ADR 0048, ADR 0049): with a
// batch above a hundredth of that, reads of single messages are smaller
// than the batch.
func ReadCount(batch, perEntry int64) int64 {
	n := max(batch, 1)
	if perEntry > 1000 {
		n = max(n*1000/perEntry, 1)
	}
	return max(min(n, max(10*batch, 10_000)/MaxPerEntry), 1)
}

// Depths is the backlog in messages of each of streams, from their counters
// (CounterKey) healed as the scripts heal them, in one round trip. Use it
// for streams whose writers keep a counter (the ingest and alert streams);
// Len counts entries.
func Depths(ctx context.Context, rdb redis.Cmdable, streams ...string) ([]int64, error) {
	reads := make([]func() int64, len(streams))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range streams {
			reads[i] = QueueDepth(ctx, p, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stream depth: %w", err)
	}
	out := make([]int64, len(streams))
	for i, r := range reads {
		out[i] = r()
	}
	return out, nil
}

// Depth is the summed backlog in messages of streams (see Depths).
func Depth(ctx context.Context, rdb redis.Cmdable, streams ...string) (int64, error) {
	ds, err := Depths(ctx, rdb, streams...)
	var n int64
	for _, d := range ds {
		n += d
	}
	return n, err
}

// QueueDepth queues on p what the backlog of stream in messages takes to
// read, for a caller that pipelines it with other commands; the returned
// func reads it once p has run.
func QueueDepth(ctx context.Context, p redis.Pipeliner, stream string) func() int64 {
	l := p.XLen(ctx, stream)
	// MGET, not GET: a missing key is a nil element rather than a
	// redis.Nil error that would fail the caller's whole pipeline.
	c := p.MGet(ctx, CounterKey(stream))
	return func() int64 {
		var n int64 // missing: 0, healed to the entries
		if v := c.Val(); len(v) == 1 {
			if s, ok := v[0].(string); ok {
				n, _ = strconv.ParseInt(s, 10, 64)
			}
		}
		return heal(n, l.Val())
	}
}
