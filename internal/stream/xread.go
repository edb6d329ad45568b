package stream

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// errNotEntries: a raw XREADGROUP reply that is not a list of entries (an
// error reply such as MOVED or NOGROUP, say): nothing was read.
var errNotEntries = errors.New("not an XREADGROUP reply with entries")

// readNow reads new entries without blocking and parses the reply itself:
// go-redis's XReadGroup builds a map and three strings per entry, and Read
// then copied the message once more; here the entries' Data are slices of
// the one reply buffer and their IDs share one string buffer. ok is false
// when nothing was waiting or the reply was one only go-redis understands
// (an error reply: nothing was read), and the caller then reads the usual
// way, blocking and with go-redis's error handling (redirections, NOGROUP).
func (c *Consumer) readNow(ctx context.Context) ([]Entry, bool, error) {
	// Sized like the last reply: go-redis's own raw reply (RawCmd) grows
	// by appending, which allocates and copies several times its size.
	w := &replyBuf{b: make([]byte, 0, c.replyHint)}
	cmd := redis.NewRawWriteToCmd(ctx, w, "XREADGROUP", "GROUP", c.opts.Group, c.opts.Consumer,
		"COUNT", c.opts.Count, "STREAMS", c.opts.Stream, ">")
	_ = c.rdb.Process(ctx, cmd)
	if _, err := cmd.Result(); err != nil {
		return nil, false, err
	}
	out, err := parseXRead(w.b, c.opts.Stream)
	if errors.Is(err, errNotEntries) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(out) > 0 {
		c.replyHint = min(len(w.b)+len(w.b)/8, maxReplyHint)
	}
	return out, len(out) > 0, nil
}

// maxReplyHint bounds the buffer readNow allocates before it knows the
// reply's size (it does so on every poll of an idle stream too).
const maxReplyHint = 4 << 20

// replyBuf collects a raw reply. go-redis copies a bulk string into it with
// io.CopyN, which ReadFrom turns into reads straight into the buffer.
type replyBuf struct{ b []byte }

func (w *replyBuf) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *replyBuf) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		w.b = slices.Grow(w.b, int(min(lr.N, 1<<20)))
	}
	var n int64
	for {
		if len(w.b) == cap(w.b) {
			w.b = slices.Grow(w.b, 4096)
		}
		m, err := r.Read(w.b[len(w.b):cap(w.b)])
		w.b = w.b[:len(w.b)+m]
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// parseXRead reads the raw reply (RESP2 or RESP3) of an XREADGROUP of one
// stream; entries get stream as their Stream and a delivery count of 1.
// errNotEntries: a nil or error reply; any other error: a reply it does not
// understand (entries may have been delivered: they are reclaimed later).
func parseXRead(raw []byte, stream string) ([]Entry, error) {
	r := resp{b: raw}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] == '!' || raw[0] == '_') {
		return nil, errNotEntries
	}
	kind, n, ok := r.header("*%")
	if n < 0 && ok {
		return nil, errNotEntries // RESP2 nil: nothing arrived
	}
	if !ok || n != 1 {
		return nil, errBadReply
	}
	if kind == '*' { // RESP2: [[name, entries]]; RESP3: {name: entries}
		if _, n, ok := r.header("*"); !ok || n != 2 {
			return nil, errBadReply
		}
	}
	if _, ok := r.bulk(); !ok {
		return nil, errBadReply
	}
	_, count, ok := r.header("*")
	if !ok || count < 0 {
		return nil, errBadReply
	}
	out := make([]Entry, 0, count)
	var ids strings.Builder
	ids.Grow(count * 24) // "1700000000000-0" and a little more
	for range count {
		if _, n, ok := r.header("*"); !ok || n != 2 {
			return nil, errBadReply
		}
		id, ok := r.bulk()
		if !ok {
			return nil, errBadReply
		}
		e := Entry{Stream: stream, Data: []byte{}, Deliveries: 1, Events: 1}
		start := ids.Len()
		ids.Write(id)
		e.ID = ids.String()[start:]
		kind, n, ok := r.header("*%") // RESP2 and 3: [k, v, ...]; a map would be {k: v, ...}
		if !ok {
			return nil, errBadReply
		}
		if kind == '%' {
			n *= 2
		}
		n = max(n, 0) // nil: an entry deleted while pending (never for ">")
		for i := 0; i < n/2; i++ {
			k, ok1 := r.bulk()
			v, ok2 := r.bulk()
			if !ok1 || !ok2 {
				return nil, errBadReply
			}
			switch string(k) {
			case Field:
				e.Data = v[:len(v):len(v)] // full: an append never writes into the next one
			case ReplaysField:
				e.Replays, _ = strconv.ParseInt(string(v), 10, 64) // unparsable counts as never replayed
			case EventsField:
				e.Events = ParseEvents(string(v))
			}
		}
		if n%2 != 0 {
			return nil, errBadReply
		}
		out = append(out, e)
	}
	if r.i != len(r.b) {
		return nil, errBadReply
	}
	return out, nil
}

var errBadReply = errors.New("unexpected XREADGROUP reply")

// resp reads RESP tokens from b.
type resp struct {
	b []byte
	i int
}

// header reads an aggregate header "<kind><n>\r\n" whose kind is one of
// kinds; n is -1 for a RESP2 nil array.
func (r *resp) header(kinds string) (kind byte, n int, ok bool) {
	if r.i >= len(r.b) || strings.IndexByte(kinds, r.b[r.i]) < 0 {
		return 0, 0, false
	}
	kind = r.b[r.i]
	n, ok = r.length()
	return kind, n, ok
}

// bulk reads a bulk string "$<n>\r\n<n bytes>\r\n".
func (r *resp) bulk() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '$' {
		return nil, false
	}
	n, ok := r.length()
	if !ok || n < 0 || n > len(r.b)-r.i-2 {
		return nil, false
	}
	v := r.b[r.i : r.i+n]
	r.i += n
	if r.b[r.i] != '\r' || r.b[r.i+1] != '\n' {
		return nil, false
	}
	r.i += 2
	return v, true
}

// length reads the number after a type byte up to its "\r\n": -1 or a
// non-negative decimal no larger than the reply (no count can exceed it).
func (r *resp) length() (int, bool) {
	i := r.i + 1
	if i+2 < len(r.b) && r.b[i] == '-' && r.b[i+1] == '1' && r.b[i+2] == '\r' {
		if i+3 >= len(r.b) || r.b[i+3] != '\n' {
			return 0, false
		}
		r.i = i + 4
		return -1, true
	}
	n, digits := 0, 0
	for ; i < len(r.b) && r.b[i] >= '0' && r.b[i] <= '9'; i++ {
		n = n*10 + int(r.b[i]-'0')
		digits++
		if n > len(r.b) {
			return 0, false
		}
	}
	if digits == 0 || i+1 >= len(r.b) || r.b[i] != '\r' || r.b[i+1] != '\n' {
		return 0, false
	}
	r.i = i + 2
	return n, true
}
