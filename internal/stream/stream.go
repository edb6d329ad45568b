package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Field is the single field of every entry that carries the message.
const Field = "d"

// ReplaysField is the optional field DLQ remediation sets on an entry it
// replays from a dead-letter stream: how often the message was replayed.
// DeadLetter carries it over, so a message that keeps failing is eventually
// parked instead of bouncing between stream and DLQ forever.
const ReplaysField = "replays"

// Entry is one message read from a stream.
type Entry struct {
	ID         string
	Stream     string
	Data       []byte // read-only: it shares the memory of Redis's reply (see entry)
	Deliveries int64  // 1 on the first delivery
	Replays    int64  // times replayed from a dead-letter stream (ReplaysField); 0 if never
	// Events is how many messages Data holds: 1, or the length of the JSON
	// array it is (EventsField, ADR 0048).
	Events int64
}

// FullError reports that a bounded enqueue was refused because the stream's
// backlog reached its limit. Nothing was added.
type FullError struct{ Depth, Limit int64 }

func (e *FullError) Error() string {
	return fmt.Sprintf("stream backlog %d reached limit %d", e.Depth, e.Limit)
}

// pushLua adds ARGV[3 .. ARGV[2]+2] as entries of KEYS[1] unless its
// backlog in messages (the counter KEYS[2], see CounterKey) already reached
// ARGV[1] (0 = unbounded), and adds the messages it added to the counter.
// When ARGV holds more, ARGV[ARGV[2]+3 ..] are the entries' message counts
// (an entry of more than one gets EventsField); otherwise each holds one.
// Check and add are atomic, so concurrent producers cannot overshoot the
// limit by more than one batch. With wantIDs it returns {depth, ids},
// without {depth}; full is {-1, depth}.
const pushLua = `
local len = redis.call('XLEN', KEYS[1])
local depth = heal(redis.call('GET', KEYS[2]), len)
local max = tonumber(ARGV[1])
if max > 0 and depth >= max then
  return {-1, depth}
end
local k = tonumber(ARGV[2])
local counted = #ARGV > k + 2
local ids = {}
for i = 3, k + 2 do
  local n = 1
  if counted then n = tonumber(ARGV[i + k]) end
  local id
  if n > 1 then
    id = redis.call('XADD', KEYS[1], '*', 'd', ARGV[i], 'n', n)
  else
    id = redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
  end
  if wantIDs then ids[#ids + 1] = id end
  depth = depth + n
end
redis.call('SET', KEYS[2], depth)
if wantIDs then return {depth, ids} end
return {depth}
`

var (
	enqueueScript = redis.NewScript(healLua + "local wantIDs = true\n" + pushLua)
	pushScript    = redis.NewScript(healLua + "local wantIDs = false\n" + pushLua)
)

// Enqueue appends payloads to stream in one atomic step, refusing the whole
// batch with *FullError when the backlog in messages is at limit or above
// (limit 0: no limit). events[i] is how many messages payloads[i] holds (a
// JSON array of them, ADR 0048); nil: one each. It returns the entry IDs and
// the backlog in messages after the append, and keeps stream's counter
// (CounterKey).
func Enqueue(ctx context.Context, rdb redis.Scripter, stream string, limit int64, payloads [][]byte, events []int) ([]string, int64, error) {
	res, err := enqueueScript.Run(ctx, rdb, []string{stream, CounterKey(stream)}, scriptArgs(limit, payloads, events)...).Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("enqueue to %s: %w", stream, err)
	}
	return enqueueReply(stream, limit, res)
}

// Push is Enqueue for a caller that needs no entry IDs (the ingestor): the
// script answers with the backlog alone, so no ID per payload is built,
// sent and read. It returns the backlog in messages after the append.
func Push(ctx context.Context, rdb redis.Scripter, stream string, limit int64, payloads [][]byte, events []int) (int64, error) {
	res, err := pushScript.Run(ctx, rdb, []string{stream, CounterKey(stream)}, scriptArgs(limit, payloads, events)...).Slice()
	if err != nil {
		return 0, fmt.Errorf("enqueue to %s: %w", stream, err)
	}
	return pushReply(stream, limit, res)
}

// scriptArgs are the ARGV of the enqueue scripts: limit, the number of
// payloads, the payloads, then their message counts unless every one holds
// one. A []byte in an interface is a copy of its header on the heap, one
// allocation per payload; a pointer is not, so each payload goes in as a
// *bulk of one slice allocated for all of them.
func scriptArgs(limit int64, payloads [][]byte, events []int) []any {
	args := make([]any, 0, 2*len(payloads)+2)
	args = append(args, limit, len(payloads))
	bulks := make([]bulk, len(payloads))
	for i, p := range payloads {
		bulks[i] = p
		args = append(args, &bulks[i])
	}
	if len(events) == len(payloads) && slices.ContainsFunc(events, func(n int) bool { return n != 1 }) {
		for _, n := range events {
			args = append(args, max(n, 1))
		}
	}
	return args
}

// bulk is a payload as a go-redis argument: go-redis writes an
// encoding.BinaryMarshaler as the bulk string it returns, the same bytes
// on the wire as a []byte argument.
type bulk []byte

// MarshalBinary returns the payload itself.
func (b *bulk) MarshalBinary() ([]byte, error) { return *b, nil }

// pushReply reads pushScript's reply.
func pushReply(stream string, limit int64, res []any) (int64, error) {
	switch len(res) {
	case 1:
		depth, _ := res[0].(int64)
		return depth, nil
	case 2:
		l, _ := res[1].(int64)
		return l, &FullError{Depth: l, Limit: limit}
	}
	return 0, fmt.Errorf("enqueue to %s: unexpected reply %v", stream, res)
}

// enqueueReply reads the enqueue script's reply.
func enqueueReply(stream string, limit int64, res []any) ([]string, int64, error) {
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("enqueue to %s: unexpected reply %v", stream, res)
	}
	depth, _ := res[0].(int64)
	if depth < 0 {
		l, _ := res[1].(int64)
		return nil, l, &FullError{Depth: l, Limit: limit}
	}
	raw, _ := res[1].([]any)
	ids := make([]string, len(raw))
	for i, v := range raw {
		ids[i], _ = v.(string)
	}
	return ids, depth, nil
}

// Add appends payloads to stream in one MULTI, without a bound: all of them
// or, when Redis refuses (at maxmemory it refuses every write), none. A
// partial add retried by the caller would add the first payloads twice.
func Add(ctx context.Context, rdb redis.Cmdable, stream string, payloads [][]byte) error {
	if len(payloads) == 0 {
		return nil
	}
	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range payloads {
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{Field, d}})
		}
		return nil
	})
	if err != nil {
		err = txError(cmds, err)
		return fmt.Errorf("add to %s: %w", stream, err)
	}
	return nil
}

// txError is the reason a MULTI failed: EXECABORT says only that a queued
// command was refused; the refusal (e.g. Redis's OOM reply) is more use.
func txError(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && !strings.HasPrefix(cerr.Error(), "EXECABORT") {
			return cerr
		}
	}
	return err
}

// Len is the summed backlog (XLEN) of streams.
func Len(ctx context.Context, rdb redis.Cmdable, streams ...string) (int64, error) {
	cmds := make([]*redis.IntCmd, len(streams))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range streams {
			cmds[i] = p.XLen(ctx, s)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("stream length: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// ConsumerName returns a name unique to this process, for a consumer group.
func ConsumerName(role string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%s-%d-%s", role, host, os.Getpid(), uuid.NewString()[:8])
}

// Options configure a Consumer. Zero values take the defaults shown.
type Options struct {
	Stream     string // required
	Group      string // required
	Consumer   string // required; unique per process (ConsumerName)
	DeadLetter string // required: dead-letter stream for poison entries
	// Counter, when set, is the stream's backlog in messages (CounterKey,
	// kept by Push): acknowledging an entry subtracts its messages.
	Counter string
	Count   int64 // entries per read; 100
	Block   time.Duration
	// Visibility is how long an entry may stay unacknowledged and untouched
	// before another consumer takes it over; 30s. Func form lets dynamic
	// config change it at run time.
	Visibility func() time.Duration
	// MaxDeliveries is how often an entry may be delivered before it is
	// dead-lettered as poison; 5.
	MaxDeliveries func() int64
}

// Consumer reads one stream shard as one member of a consumer group.
// It is not safe for concurrent Read calls; Ack, AddAndAck, Extend and
// DeadLetter may be called from other goroutines.
type Consumer struct {
	rdb     redis.UniversalClient
	opts    Options
	log     *slog.Logger
	metrics *Metrics

	nextReclaim time.Time
	cursor      string
	replyHint   int // bytes for the next raw reply (readNow)
}

// SetCount changes how many entries a Read asks for at most, from the next
// Read on. Call it from the goroutine that calls Read.
func (c *Consumer) SetCount(n int64) { c.opts.Count = max(n, 1) }

// NewConsumer returns a consumer; call EnsureGroup before the first Read.
func NewConsumer(rdb redis.UniversalClient, opts Options, log *slog.Logger, m *Metrics) *Consumer {
	if opts.Count <= 0 {
		opts.Count = 100
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	if opts.Visibility == nil {
		opts.Visibility = func() time.Duration { return 30 * time.Second }
	}
	if opts.MaxDeliveries == nil {
		opts.MaxDeliveries = func() int64 { return 5 }
	}
	return &Consumer{rdb: rdb, opts: opts, log: log.With("stream", opts.Stream, "group", opts.Group), metrics: m, cursor: "0-0"}
}

// Stream is the key this consumer reads.
func (c *Consumer) Stream() string { return c.opts.Stream }

// EnsureGroup creates the stream and the group if missing. The group starts
// at the beginning of the stream so entries added before it existed are read.
//
// At maxmemory Redis refuses XGROUP CREATE even for a group that exists;
// then the group is looked up instead, so a consumer started while Redis is
// full can read (and by acknowledging, free memory).
func (c *Consumer) EnsureGroup(ctx context.Context) error {
	err := c.rdb.XGroupCreateMkStream(ctx, c.opts.Stream, c.opts.Group, "0").Err()
	if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil
	}
	if strings.HasPrefix(err.Error(), "OOM") {
		groups, ierr := c.rdb.XInfoGroups(ctx, c.opts.Stream).Result()
		for _, g := range groups {
			if ierr == nil && g.Name == c.opts.Group {
				return nil
			}
		}
	}
	return fmt.Errorf("create group %s on %s: %w", c.opts.Group, c.opts.Stream, err)
}

// Read returns the next batch: entries reclaimed from idle consumers first
// (checked every half visibility timeout), then new entries, waiting up to
// Block. The Data of the entries of one batch share one buffer: a caller
// keeping one of them for long should copy it. Poison entries are dead-lettered here and not returned. An empty
// batch with a nil error means nothing arrived.
func (c *Consumer) Read(ctx context.Context) ([]Entry, error) {
	if now := time.Now(); !now.Before(c.nextReclaim) {
		got, err := c.reclaim(ctx)
		if err != nil {
			return nil, err
		}
		if c.cursor == "0-0" {
			c.nextReclaim = now.Add(c.opts.Visibility() / 2)
		}
		if len(got) > 0 {
			return got, nil
		}
	}
	if got, ok, err := c.readNow(ctx); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.opts.Stream, err)
	} else if ok {
		c.metrics.read.WithLabelValues(c.opts.Stream).Add(float64(len(got)))
		return got, nil
	}
	res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    c.opts.Group,
		Consumer: c.opts.Consumer,
		Streams:  []string{c.opts.Stream, ">"},
		Count:    c.opts.Count,
		Block:    c.opts.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			// The stream was deleted under us (e.g. by an operator); recreate.
			return nil, c.EnsureGroup(ctx)
		}
		return nil, fmt.Errorf("read %s: %w", c.opts.Stream, err)
	}
	var out []Entry
	for _, s := range res {
		for _, m := range s.Messages {
			out = append(out, entry(c.opts.Stream, m, 1))
		}
	}
	c.metrics.read.WithLabelValues(c.opts.Stream).Add(float64(len(out)))
	return out, nil
}

func entry(stream string, m redis.XMessage, deliveries int64) Entry {
	d, _ := m.Values[Field].(string)
	// Data shares the reply's string instead of copying every payload once
	// more (a tenth of the alerter's allocations at saturation): nothing
	// writes to an entry's Data, and the string is never used elsewhere.
	data := unsafe.Slice(unsafe.StringData(d), len(d)) // #nosec G103 -- read-only view of a string no one else holds
	e := Entry{ID: m.ID, Stream: stream, Data: data, Deliveries: deliveries, Events: 1}
	if r, ok := m.Values[ReplaysField].(string); ok {
		e.Replays, _ = strconv.ParseInt(r, 10, 64) // unparsable counts as never replayed
	}
	if n, ok := m.Values[EventsField].(string); ok {
		e.Events = ParseEvents(n)
	}
	return e
}

// reclaim takes over entries idle past the visibility timeout.
func (c *Consumer) reclaim(ctx context.Context) ([]Entry, error) {
	msgs, next, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream:   c.opts.Stream,
		Group:    c.opts.Group,
		Consumer: c.opts.Consumer,
		MinIdle:  c.opts.Visibility(),
		Start:    c.cursor,
		Count:    c.opts.Count,
	}).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return nil, c.EnsureGroup(ctx)
		}
		return nil, fmt.Errorf("reclaim %s: %w", c.opts.Stream, err)
	}
	c.cursor = next
	if len(msgs) == 0 {
		return nil, nil
	}
	pend, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream:   c.opts.Stream,
		Group:    c.opts.Group,
		Start:    msgs[0].ID,
		End:      msgs[len(msgs)-1].ID,
		Count:    int64(len(msgs)) * 2,
		Consumer: c.opts.Consumer,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("pending of %s: %w", c.opts.Stream, err)
	}
	counts := make(map[string]int64, len(pend))
	for _, p := range pend {
		counts[p.ID] = p.RetryCount
	}
	max := c.opts.MaxDeliveries()
	var out []Entry
	var poison []DeadLetter
	for _, m := range msgs {
		e := entry(c.opts.Stream, m, counts[m.ID])
		if e.Deliveries > max {
			poison = append(poison, DeadLetter{Entry: e, Reason: "max_deliveries_exceeded",
				Err: fmt.Sprintf("delivered %d times without being acknowledged", e.Deliveries)})
			continue
		}
		out = append(out, e)
	}
	c.metrics.reclaimed.WithLabelValues(c.opts.Stream).Add(float64(len(msgs)))
	c.log.Info("reclaimed idle entries", "count", len(msgs), "poison", len(poison))
	if err := c.DeadLetter(ctx, poison...); err != nil {
		return nil, err
	}
	return out, nil
}

// ackScript acknowledges and deletes KEYS[1]'s entries ARGV[2..] in group
// ARGV[1]. A script, not a MULTI: at maxmemory Redis refuses every command
// queued in a MULTI, but lets a script run commands that free memory, so
// consumers keep draining a full Redis (and XDEL makes room for ingest).
var ackScript = redis.NewScript(`
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))
`)

// Ack acknowledges and deletes entries in one atomic step, so XLEN stays the
// backlog; with Options.Counter each counts as one message (AckEntries
// knows better). It works while Redis is at maxmemory.
func (c *Consumer) Ack(ctx context.Context, ids ...string) error {
	return c.ack(ctx, ids, nil)
}

// AckEntries is Ack of entries, subtracting each one's Events from the
// counter.
func (c *Consumer) AckEntries(ctx context.Context, entries ...Entry) error {
	ids, events := idsOf(entries)
	return c.ack(ctx, ids, events)
}

// idsOf lists the IDs and the message counts of entries.
func idsOf(entries []Entry) ([]string, []int64) {
	ids := make([]string, len(entries))
	events := make([]int64, len(entries))
	for i, e := range entries {
		ids[i], events[i] = e.ID, e.Events
	}
	return ids, events
}

// ParseEvents reads an EventsField value: anything but a count of at least
// 1 counts as one message.
func ParseEvents(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (c *Consumer) ack(ctx context.Context, ids []string, events []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var err error
	if c.opts.Counter != "" {
		args := ackArgs(append(make([]any, 0, 2*len(ids)+2), c.opts.Group, len(ids)), ids, events)
		err = countedAckScript.Run(ctx, c.rdb, []string{c.opts.Stream, c.opts.Counter}, args...).Err()
	} else {
		args := make([]any, 0, len(ids)+1)
		args = append(args, c.opts.Group)
		for _, id := range ids {
			args = append(args, id)
		}
		err = ackScript.Run(ctx, c.rdb, []string{c.opts.Stream}, args...).Err()
	}
	if err != nil {
		return fmt.Errorf("ack %d entries on %s: %w", len(ids), c.opts.Stream, err)
	}
	c.metrics.acked.WithLabelValues(c.opts.Stream).Add(float64(len(ids)))
	return nil
}

// Extend renews this consumer's lease on entries it still works on, so no
// other consumer reclaims them. It does not count as a delivery.
func (c *Consumer) Extend(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := c.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: c.opts.Stream, Group: c.opts.Group, Consumer: c.opts.Consumer, Messages: ids,
	}).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("extend lease on %s: %w", c.opts.Stream, err)
	}
	return nil
}

// DeadLetter is an entry that will not be processed, and why.
type DeadLetter struct {
	Entry
	Reason   string // short machine-readable reason, e.g. "decode_error"
	Err      string // human-readable detail
	Attempts int64  // processing attempts; Deliveries when zero
	Extra    map[string]string
	// Part: Data is one of several messages the entry carries, dead-lettered
	// alone. The entry is not acknowledged here: its other messages are
	// still being processed, and the caller acknowledges it with them.
	Part bool
}

// DeadLetter adds each entry to the dead-letter stream with its reason, then
// acknowledges it (a Part's entry is left to the caller). The add comes
// first: a crash in between leaves the entry pending, to be reclaimed and
// dead-lettered again, never lost. The entry's Replays count is kept
// (ReplaysField) unless Extra sets it.
func (c *Consumer) DeadLetter(ctx context.Context, dls ...DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	// One MULTI: all dead letters or, when Redis refuses, none (a retry of
	// a partial add would dead-letter the first entries twice).
	cmds, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range dls {
			attempts := d.Attempts
			if attempts == 0 {
				attempts = d.Deliveries
			}
			vals := []any{
				"reason", d.Reason, "error", d.Err,
				"attempts", strconv.FormatInt(attempts, 10), "failed_at", now,
				"source_stream", d.Stream, "source_id", d.ID, Field, d.Data,
			}
			for k, v := range d.Extra {
				vals = append(vals, k, v)
			}
			if _, set := d.Extra[ReplaysField]; !set && d.Replays > 0 {
				vals = append(vals, ReplaysField, strconv.FormatInt(d.Replays, 10))
			}
			if !d.Part && d.Events > 1 {
				vals = append(vals, EventsField, strconv.FormatInt(d.Events, 10))
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: c.opts.DeadLetter, Values: vals})
		}
		return nil
	})
	if err != nil {
		err = txError(cmds, err)
		return fmt.Errorf("dead-letter %d entries to %s: %w", len(dls), c.opts.DeadLetter, err)
	}
	whole := make([]Entry, 0, len(dls))
	for _, d := range dls {
		if !d.Part {
			whole = append(whole, d.Entry)
		}
		c.metrics.deadLettered.WithLabelValues(c.opts.Stream, d.Reason).Inc()
		c.log.Warn("dead-lettered entry", "id", d.ID, "part", d.Part, "reason", d.Reason, "err", d.Err)
	}
	return c.AckEntries(ctx, whole...)
}

// Close removes this consumer from the group if it holds no pending entries.
// (Deleting a consumer drops its pending entries, so one that still has some
// is left for the others to reclaim.)
func (c *Consumer) Close(ctx context.Context) error {
	p, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: c.opts.Stream, Group: c.opts.Group, Start: "-", End: "+", Count: 1, Consumer: c.opts.Consumer,
	}).Result()
	if err != nil {
		return fmt.Errorf("pending of %s: %w", c.opts.Consumer, err)
	}
	if len(p) > 0 {
		return nil
	}
	return c.rdb.XGroupDelConsumer(ctx, c.opts.Stream, c.opts.Group, c.opts.Consumer).Err()
}
