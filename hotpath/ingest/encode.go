package ingest

import (
	"strconv"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
	"github.com/mutt-ops/mutt/internal/stream"
)

// appendEnvelope appends e as the JSON json.Marshal makes of it (same
// fields, names and omitempty rules; TestAppendEnvelopeMatchesMarshal keeps
// the two in step), except that Original is copied as it is: the decoder
// has already validated it, and encoding/json would scan and rewrite it
// again (compacting and HTML-escaping the client's bytes). Both times are
// within what jsonenc.AppendTime needs: the decoder refuses a timestamp
// outside year 0-9999 or with an offset of 24 hours or more.
func appendEnvelope(dst []byte, e *event.Envelope) []byte {
	dst = appendEventID(dst, e)
	dst = appendStamp(dst, e)
	return appendFields(dst, e)
}

// appendEventID, appendStamp and appendFields are appendEnvelope in three
// parts: the stamp is the same for every event of a request, so
// encodePayloads writes it once and copies it.
func appendEventID(dst []byte, e *event.Envelope) []byte {
	dst = append(dst, `{"event_id":`...)
	return jsonenc.AppendString(dst, e.EventID)
}

func appendStamp(dst []byte, e *event.Envelope) []byte {
	dst = append(dst, `,"received_at":`...)
	dst = jsonenc.AppendTime(dst, e.ReceivedAt)
	dst = append(dst, `,"correlation_id":`...)
	dst = jsonenc.AppendString(dst, e.CorrelationID)
	dst = append(dst, `,"source":`...)
	return jsonenc.AppendString(dst, e.Source)
}

// sameStamp says whether appendStamp writes the same bytes for a and b.
func sameStamp(a, b *event.Envelope) bool {
	// == on time.Time: the same instant in the same location, so the
	// same text (Equal would take one instant in two zones as the same).
	return a.ReceivedAt == b.ReceivedAt && a.CorrelationID == b.CorrelationID && a.Source == b.Source
}

func appendFields(dst []byte, e *event.Envelope) []byte {
	dst = append(dst, `,"hostname":`...)
	dst = jsonenc.AppendString(dst, e.Hostname)
	dst = append(dst, `,"message":`...)
	dst = jsonenc.AppendString(dst, e.Message)
	dst = append(dst, `,"timestamp":`...)
	dst = jsonenc.AppendTime(dst, e.Timestamp)
	if e.Severity != nil {
		dst = append(dst, `,"severity":`...)
		dst = strconv.AppendInt(dst, int64(*e.Severity), 10)
	}
	if e.TrapOID != "" {
		dst = append(dst, `,"trap_oid":`...)
		dst = jsonenc.AppendString(dst, e.TrapOID)
	}
	if e.AppName != "" {
		dst = append(dst, `,"app_name":`...)
		dst = jsonenc.AppendString(dst, e.AppName)
	}
	if e.Facility != nil {
		dst = append(dst, `,"facility":`...)
		dst = strconv.AppendInt(dst, int64(*e.Facility), 10)
	}
	dst = append(dst, `,"event":`...)
	if len(e.Original) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Original...)
	}
	return append(dst, '}')
}

// envelopeSize is about what appendEnvelope writes for e: its strings and
// original, and the rest (names, punctuation, two times, two numbers)
// within 320 bytes. Only strings that need escaping make it more.
func envelopeSize(e *event.Envelope) int {
	return 320 + len(e.EventID) + len(e.CorrelationID) + len(e.Source) + len(e.Hostname) + len(e.Message) +
		len(e.TrapOID) + len(e.AppName) + len(e.Original)
}

// encodePayloads encodes every envelope into one buffer and returns each
// payload as a slice of it.
func encodePayloads(envs []event.Envelope) [][]byte {
	return new(payloads).encode(envs)
}

// payloads are the buffers of encodePayloads, kept by the server in a pool
// for the next request.
type payloads struct {
	buf  []byte
	ends []int
	out  [][]byte
	// pack's buffers: the entries' bytes, the entries, their event counts.
	arr     []byte
	entries [][]byte
	events  []int
}

// encode encodes every envelope into p's buffer (grown once to the size
// of them all when too small) and returns each payload as a slice of it,
// valid until p is used again. The stamp (received_at, correlation_id,
// source) is formatted once and copied to every envelope that has the same.
func (p *payloads) encode(envs []event.Envelope) [][]byte {
	size := 0
	for i := range envs {
		size += envelopeSize(&envs[i])
	}
	if cap(p.buf) < size {
		p.buf = make([]byte, 0, size)
	}
	buf, ends := p.buf[:0], p.ends[:0]
	var stampAt, stampEnd int
	for i := range envs {
		e := &envs[i]
		buf = appendEventID(buf, e)
		if i > 0 && sameStamp(e, &envs[i-1]) {
			buf = append(buf, buf[stampAt:stampEnd]...)
		} else {
			stampAt = len(buf)
			buf = appendStamp(buf, e)
			stampEnd = len(buf)
		}
		buf = appendFields(buf, e)
		ends = append(ends, len(buf))
	}
	out := p.out[:0]
	start := 0
	for _, end := range ends {
		out = append(out, buf[start:end:end])
		start = end
	}
	p.buf, p.ends, p.out = buf, ends, out
	return out
}

// packed are the stream entries of one shard and how many events each holds.
type packed struct {
	entries [][]byte
	events  []int
}

// pack makes the stream entries of each shard's payloads (ADR 0048): a JSON
// array of up to stream.MaxPerEntry payloads in their order, or a payload
// alone as it is. The entries are slices of p's buffers, valid until p is
// used again; n is the number of payloads in all.
func (p *payloads) pack(byShard map[int][][]byte, n int) map[int]packed {
	size := 0
	for _, ps := range byShard {
		for _, pl := range ps {
			size += len(pl) + 1 // a comma or a bracket after each
		}
		size += len(ps)/stream.MaxPerEntry + 1 // an opening bracket per entry
	}
	// Sized once for all: a slice handed out must not move.
	if cap(p.arr) < size {
		p.arr = make([]byte, 0, size)
	}
	if cap(p.entries) < n {
		p.entries, p.events = make([][]byte, 0, n), make([]int, 0, n)
	}
	arr, entries, events := p.arr[:0], p.entries[:0], p.events[:0]
	out := make(map[int]packed, len(byShard))
	for sh, ps := range byShard {
		first := len(entries)
		for len(ps) > 0 {
			k := min(len(ps), stream.MaxPerEntry)
			if k == 1 {
				entries, events = append(entries, ps[0]), append(events, 1)
			} else {
				start := len(arr)
				arr = stream.AppendArray(arr, ps[:k])
				entries, events = append(entries, arr[start:len(arr):len(arr)]), append(events, k)
			}
			ps = ps[k:]
		}
		out[sh] = packed{entries: entries[first:len(entries):len(entries)], events: events[first:len(events):len(events)]}
	}
	p.arr, p.entries, p.events = arr, entries, events
	return out
}

// release readies p for reuse; keep says whether it should be (a huge
// request's buffer is left to the GC).
func (p *payloads) release() (keep bool) {
	clear(p.out)
	clear(p.entries)
	return cap(p.buf) <= 4<<20 && cap(p.arr) <= 4<<20 && cap(p.out) <= 2*maxEnvsGuess
}
