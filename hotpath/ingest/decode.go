package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// Metric reasons of a refused request (label reason of mutt_ingest_requests_total).
const (
	reasonAuth       = "auth"
	reasonJSON       = "json"
	reasonValidation = "validation"
	reasonTooLarge   = "too_large"
	reasonRateLimit  = "rate_limit"
	reasonQueueFull  = "queue_full"
	reasonRedis      = "redis"
	// reasonRedisMemory: Redis refused the write because it is at its
	// maxmemory (an OOM error reply): it answers, but has no room.
	reasonRedisMemory = "redis_memory"
	reasonTimeout     = "timeout"
	// reasonNotDurable: the events were written but not confirmed by the
	// replicas (or fsyncs) MUTT_REDIS_WAIT_REPLICAS/WAITAOF ask for.
	reasonNotDurable = "not_durable"
)

// requestError is a refusal of a request: the HTTP status, the metric reason
// and a message the client can act on.
type requestError struct {
	status int
	reason string
	msg    string
	// retryAfter (seconds) sets the Retry-After header and retry_after.
	retryAfter int
	// queueDepth and queueLimit go into the body of a queue_full refusal.
	queueDepth, queueLimit int64
}

func (e *requestError) Error() string { return e.msg }

func badJSON(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, reason: reasonJSON, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, reason: reasonValidation, msg: fmt.Sprintf(format, args...)}
}

// shapeHint ends every message about a body of the wrong shape.
const shapeHint = "send a JSON object, a JSON array of objects, or NDJSON (one object per line)"

// decoder turns a request body into envelopes. It reads each event once:
// one jsonenc.CheckValue pass per member checks the syntax, finds the event's
// extent and its top-level fields and enforces the size and depth limits;
// only the few fields the pipeline needs are decoded. The client's bytes become the
// envelope's original unless a reserved field has to be cut out.
type decoder struct {
	maxBatch int
	maxField int
	maxDepth int
	newID    func() (uuid.UUID, error)
	// ids, when set, makes the ids of a body at once instead of newID.
	ids *v7Source
}

// stamp is what the ingestor adds to every event of one request.
type stamp struct {
	correlationID string
	receivedAt    time.Time
}

// member is one top-level "key": value of an event object.
type member struct {
	key      []byte // raw key between the quotes (escapes not decoded)
	esc      bool   // key contains an escape
	val      []byte // raw value
	span     []byte // "key": value as the client wrote it
	reserved bool   // key starts with "_"
}

// MaxEventFields bounds the top-level members of one event object. Each
// costs the decoder a member record; without a bound an 8 MiB object of
// one-byte members ("k":1,…) made it allocate about 80 times the body.
const MaxEventFields = 1000

// utf8BOM is tolerated at the start of a body (some Windows tools write it).
const utf8BOM = "\xEF\xBB\xBF"

// decode validates every event of body and returns their envelopes, or the
// first problem as a *requestError naming the event's 0-based index and the
// field. Nothing is returned for a body with any bad event.
func (d *decoder) decode(body []byte, st stamp) ([]event.Envelope, error) {
	return d.decodeInto(new(batch), body, st)
}

// decodeInto is decode with the buffers of b, which a caller may reuse
// once it is done with the envelopes (batch.release).
func (d *decoder) decodeInto(b *batch, body []byte, st stamp) ([]event.Envelope, error) {
	i := skipWS(body, 0)
	if hasPrefix(body[i:], utf8BOM) {
		i = skipWS(body, i+len(utf8BOM))
	}
	if i == len(body) {
		return nil, badJSON("empty body: %s", shapeHint)
	}
	// Hostnames and messages are about half of an event, and each gets an id.
	events := min(d.maxBatch, len(body)/minEventGuess+1, maxEnvsGuess)
	b.reset(st, events, len(body)/2+events*uuidLen)
	var err error
	switch body[i] {
	case '[':
		err = d.decodeArray(body, i, b)
	case '{':
		err = d.decodeObjects(body, i, b)
	default:
		if kind := valueKind(body[i:]); kind != "" && jsonenc.Valid(body[i:]) {
			return nil, badJSON("body is %s: %s", kind, shapeHint)
		}
		return nil, badJSON("body is not JSON: %s", shapeHint)
	}
	if err != nil {
		return nil, err
	}
	if err := b.finish(d); err != nil {
		return nil, err
	}
	return b.envs, nil
}

// minEventGuess and maxEnvsGuess size the envelope slice of a body: an
// event is rarely shorter than 128 bytes (three required fields), and past
// 1024 events append's growth costs little.
const (
	minEventGuess = 128
	maxEnvsGuess  = 1024
)

// batch collects the envelopes of one body. Their hostnames, messages, app
// names and event ids are appended to text while the events are read and
// become strings in one conversion once every event is valid (finish):
// one allocation per body instead of four per event. The severities and
// facilities point into ints, a few allocations per body instead of one per
// value. The server keeps batches in a pool for the next request.
type batch struct {
	st      stamp
	members []member // scratch of the event being read
	envs    []event.Envelope
	texts   []eventText // of envs[i]
	text    []byte
	ints    []int
	ids     []uuid.UUID // scratch of finish
	random  []byte      // scratch of v7Source.fill
}

// eventText is where an envelope's strings are in batch.text.
type eventText struct{ host, msg, app textSpan }

type textSpan struct{ off, end int }

// reset readies b for a body: room for about events envelopes and text
// bytes of strings, the buffers of the last body reused when large enough.
func (b *batch) reset(st stamp, events, text int) {
	b.st = st
	if cap(b.envs) < events {
		// Sized from the body: a big batch grows it a time or two.
		b.envs = make([]event.Envelope, 0, events)
		b.texts = make([]eventText, 0, events)
	}
	if cap(b.text) < text {
		b.text = make([]byte, 0, text)
	}
	if b.members == nil {
		// One scratch list of members serves every event of the body.
		b.members = make([]member, 0, 16)
	}
	b.envs, b.texts, b.text, b.ints = b.envs[:0], b.texts[:0], b.text[:0], nil
}

// release drops what b's envelopes point to, so that b can be reused;
// keep says whether it should be (a huge body's buffers are left to the GC).
func (b *batch) release() (keep bool) {
	clear(b.envs)
	b.envs, b.ints = b.envs[:0], nil
	return cap(b.envs) <= maxEnvsGuess && cap(b.text) <= 1<<20 && cap(b.members) <= 64
}

// addText appends s to the text and says where it is.
func (b *batch) addText(s []byte) textSpan {
	off := len(b.text)
	b.text = append(b.text, s...)
	return textSpan{off, len(b.text)}
}

// intPtr is a pointer to n that shares its allocation with others of the batch.
func (b *batch) intPtr(n int) *int {
	if len(b.ints) == cap(b.ints) {
		b.ints = make([]int, 0, min(256, 2*cap(b.ints)+8))
	}
	b.ints = append(b.ints, n)
	return &b.ints[len(b.ints)-1]
}

// finish gives every envelope its event id and its strings.
func (b *batch) finish(d *decoder) error {
	idStart := len(b.text)
	b.text = slices.Grow(b.text, len(b.envs)*uuidLen)
	if d.ids != nil {
		b.ids = slices.Grow(b.ids[:0], len(b.envs))[:len(b.envs)]
		if err := d.ids.fill(b.ids, &b.random); err != nil {
			return fmt.Errorf("generate event id: %w", err)
		}
		for _, id := range b.ids {
			b.text = appendUUID(b.text, id)
		}
	} else {
		for range b.envs {
			id, err := d.newID()
			if err != nil {
				return fmt.Errorf("generate event id: %w", err)
			}
			b.text = appendUUID(b.text, id)
		}
	}
	text := string(b.text)
	for i := range b.envs {
		e, t := &b.envs[i], &b.texts[i]
		e.Hostname = text[t.host.off:t.host.end]
		e.Message = text[t.msg.off:t.msg.end]
		e.AppName = text[t.app.off:t.app.end]
		e.EventID = text[idStart+i*uuidLen : idStart+(i+1)*uuidLen]
	}
	return nil
}

// uuidLen is the length of a UUID's text (uuid.UUID.String).
const uuidLen = 36

// appendUUID appends id as uuid.UUID.String writes it.
func appendUUID(dst []byte, id uuid.UUID) []byte {
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigit[c>>4], hexDigit[c&0xF])
	}
	return dst
}

const hexDigit = "0123456789abcdef"

// decodeArray reads a JSON array of event objects starting at body[i] == '['.
func (d *decoder) decodeArray(body []byte, i int, b *batch) error {
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == ']' {
		if j := skipWS(body, i+1); j != len(body) {
			return badJSON("invalid JSON: unexpected data after the array at byte %d", j)
		}
		return badJSON("empty batch: the array holds no events; %s", shapeHint)
	}
	for idx := 0; ; idx++ {
		if idx == d.maxBatch {
			return d.batchTooLong()
		}
		if i == len(body) {
			return badJSON("event %d: invalid JSON: unexpected end of body (the array is not closed)", idx)
		}
		if body[i] != '{' {
			return notObject(idx, body[i:])
		}
		end, err := d.event(body, i, idx, b)
		if err != nil {
			return err
		}
		i = skipWS(body, end)
		switch {
		case i == len(body):
			return badJSON("invalid JSON: unexpected end of body after event %d (the array is not closed)", idx)
		case body[i] == ',':
			i = skipWS(body, i+1)
		case body[i] == ']':
			if j := skipWS(body, i+1); j != len(body) {
				return badJSON("invalid JSON: unexpected data after the array at byte %d", j)
			}
			return nil
		default:
			return badJSON("invalid JSON after event %d: expected ',' or ']' at byte %d", idx, i)
		}
	}
}

// decodeObjects reads one object or several separated by whitespace (NDJSON,
// as rsyslog's omhttp sends batches without jsonarray), starting at '{'.
func (d *decoder) decodeObjects(body []byte, i int, b *batch) error {
	for idx := 0; ; idx++ {
		if idx == d.maxBatch {
			return d.batchTooLong()
		}
		if body[i] != '{' {
			return notObject(idx, body[i:])
		}
		end, err := d.event(body, i, idx, b)
		if err != nil {
			return err
		}
		if i = skipWS(body, end); i == len(body) {
			return nil
		}
	}
}

func (d *decoder) batchTooLong() error {
	return invalid("batch has more than %d events (limit MUTT_INGEST_MAX_BATCH); send smaller batches", d.maxBatch)
}

func notObject(idx int, rest []byte) error {
	if kind := valueKind(rest); kind != "" {
		return badJSON("event %d: must be a JSON object, got %s", idx, kind)
	}
	return badJSON("event %d: invalid JSON: unexpected %q where an event object should start", idx, rune(rest[0]))
}

// valueKind names the JSON value b starts with, or "" when it starts none.
func valueKind(b []byte) string {
	for _, lit := range [...]string{"true", "false", "null"} {
		if b[0] == lit[0] && !hasPrefix(b, lit) {
			return ""
		}
	}
	return jsonKind(b[0])
}

// hasPrefix is bytes.HasPrefix for a string prefix, without a conversion.
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// jsonKind names the JSON value that starts with c, or "" when none does.
func jsonKind(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return ""
}

// event decodes the object at body[start], adds its envelope to b and
// returns the offset just past it.
func (d *decoder) event(body []byte, start, idx int, b *batch) (int, error) {
	members, end, err := d.scanObject(body, start, idx, b.members[:0])
	b.members = members
	if err != nil {
		return 0, err
	}
	raw := body[start:end] // valid JSON: scanObject checked it
	if !utf8.Valid(raw) {
		return 0, invalid("event %d: not valid UTF-8", idx)
	}
	return end, d.build(raw, members, idx, b)
}

// syntaxError describes why rest (starting with the bad event) is not JSON.
func syntaxError(idx int, rest []byte) error {
	var v json.RawMessage
	var se *json.SyntaxError
	if err := json.Unmarshal(rest, &v); errors.As(err, &se) {
		return badJSON("event %d: invalid JSON: %s (at byte %d of the event)", idx, se.Error(), se.Offset)
	}
	return badJSON("event %d: invalid JSON", idx)
}

// scanObject reads the object at body[start] == '{' in one pass with
// jsonenc.CheckValue: it checks the syntax (exactly as jsonenc.Valid, so as
// json.Valid), enforces the depth and string-length limits, finds the end,
// and appends the top-level members to members. The first problem in the
// order of the text is reported; a syntax error is described by
// encoding/json (syntaxError).
func (d *decoder) scanObject(body []byte, start, idx int, members []member) ([]member, int, error) {
	malformed := func() error { return syntaxError(idx, body[start:]) }
	lim := jsonenc.Limits{MaxDepth: d.maxDepth, MaxString: d.maxField}
	i := skipWS(body, start+1)
	if i < len(body) && body[i] == '}' {
		return members, i + 1, nil
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return nil, 0, malformed()
		}
		kEnd, fault := jsonenc.CheckValue(body, i, 1, lim)
		switch fault {
		case jsonenc.FaultNone:
		case jsonenc.FaultString:
			return nil, 0, invalid("event %d: a field name is longer than %d bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)", idx, d.maxField)
		default:
			return nil, 0, malformed()
		}
		m := member{key: body[i+1 : kEnd-1]}
		mStart := i
		m.esc = bytes.IndexByte(m.key, '\\') >= 0
		i = skipWS(body, kEnd)
		if i >= len(body) || body[i] != ':' {
			return nil, 0, malformed()
		}
		i = skipWS(body, i+1)
		vEnd, fault := jsonenc.CheckValue(body, i, 1, lim) // the event object is level 1
		switch fault {
		case jsonenc.FaultNone:
		case jsonenc.FaultDepth:
			return nil, 0, invalid("event %d: field %s: nested deeper than %d levels (limit MUTT_INGEST_MAX_DEPTH)",
				idx, m.name(), d.maxDepth)
		case jsonenc.FaultString:
			return nil, 0, invalid("event %d: field %s: string longer than %d bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)", idx, m.name(), d.maxField)
		default:
			return nil, 0, malformed()
		}
		m.val, m.span = body[i:vEnd], body[mStart:vEnd]
		if len(members) == MaxEventFields {
			return nil, 0, invalid("event %d: more than %d top-level fields; an event needs a handful (hostname, timestamp, message…)",
				idx, MaxEventFields)
		}
		members = append(members, m)
		i = skipWS(body, vEnd)
		if i >= len(body) {
			return nil, 0, malformed()
		}
		switch body[i] {
		case ',':
			i = skipWS(body, i+1)
		case '}':
			return members, i + 1, nil
		default:
			return nil, 0, malformed()
		}
	}
}

// skipWS is jsonenc.SkipSpace.
func skipWS(b []byte, i int) int { return jsonenc.SkipSpace(b, i) }

// name is the member's key for an error message: quoted, decoded, and cut
// short so a huge key cannot bloat the response.
func (m *member) name() string {
	k := m.keyString()
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return fmt.Sprintf("%q", k)
}

// keyString is the decoded key.
func (m *member) keyString() string {
	if !m.esc {
		return string(m.key)
	}
	var s string
	q := make([]byte, 0, len(m.key)+2)
	q = append(append(append(q, '"'), m.key...), '"')
	if json.Unmarshal(q, &s) != nil {
		return string(m.key)
	}
	return s
}

// fields are the top-level members the pipeline reads; nil when absent.
type fields struct {
	hostname, message, timestamp json.RawMessage
	sourceIP, trapOID, variables json.RawMessage
	syslogSeverity, severity     json.RawMessage
	appName, facility            json.RawMessage
	reserved                     bool
}

// pick sorts members into fields. A repeated key keeps its last value, as
// encoding/json (and so every later stage) reads it. The switch repeats one
// line per key on purpose: a table of keys and field pointers scanned per
// member measured three times slower (BenchmarkPick), on every event.
func pick(members []member) fields {
	var f fields
	for i := range members {
		m := &members[i]
		key := m.key
		if m.esc {
			key = []byte(m.keyString())
		}
		if len(key) > 0 && key[0] == '_' {
			m.reserved, f.reserved = true, true
			continue
		}
		switch string(key) {
		case "hostname":
			f.hostname = m.val
		case "message":
			f.message = m.val
		case "timestamp":
			f.timestamp = m.val
		case "source_ip":
			f.sourceIP = m.val
		case "trap_oid":
			f.trapOID = m.val
		case "variables":
			f.variables = m.val
		case "syslog_severity":
			f.syslogSeverity = m.val
		case "severity":
			f.severity = m.val
		case "app_name":
			f.appName = m.val
		case "facility":
			f.facility = m.val
		}
	}
	return f
}

// present reports a field that is there and not null (null counts as absent
// for optional fields, as JSON encoders write unset values that way).
func present(raw json.RawMessage) bool {
	return raw != nil && string(raw) != "null"
}

// build validates the fields of one syntactically valid event and adds its
// envelope to b; its strings are set by b.finish.
func (d *decoder) build(raw []byte, members []member, idx int, b *batch) error {
	f := pick(members)
	env := event.Envelope{
		ReceivedAt:    b.st.receivedAt,
		CorrelationID: b.st.correlationID,
		Source:        event.SourceHTTP,
		Original:      raw,
	}
	var txt eventText
	isTrap := present(f.trapOID)
	if isTrap {
		oid, ok := decodeString(f.trapOID)
		if ok {
			oid, ok = event.NormalizeOID(oid)
		}
		if !ok {
			return invalid(`event %d: field "trap_oid": must be a dotted numeric OID such as 1.3.6.1.6.3.1.1.5.1`, idx)
		}
		env.TrapOID = oid
	}

	hostRaw, hostField := f.hostname, "hostname"
	if !present(hostRaw) && isTrap && present(f.sourceIP) {
		hostRaw, hostField = f.sourceIP, "source_ip"
	}
	if hostRaw == nil {
		if isTrap {
			return invalid(`event %d: missing required field "hostname" (or "source_ip" for an SNMP trap)`, idx)
		}
		return invalid(`event %d: missing required field "hostname"`, idx)
	}
	host, err := requiredText(idx, hostField, hostRaw)
	if err != nil {
		return err
	}
	if len(host) > MaxHostnameBytes {
		return invalid("event %d: field %q: longer than %d bytes", idx, hostField, MaxHostnameBytes)
	}
	txt.host = b.addText(host)

	switch {
	case !present(f.message) && isTrap && present(f.variables):
		msgStart := len(b.text)
		if b.text, err = d.appendTrapMessage(b.text, idx, env.TrapOID, f.variables); err != nil {
			return err
		}
		txt.msg = textSpan{msgStart, len(b.text)}
	case f.message == nil && isTrap:
		return invalid(`event %d: missing required field "message" (or "variables" for an SNMP trap)`, idx)
	case f.message == nil:
		return invalid(`event %d: missing required field "message"`, idx)
	default:
		msg, err := requiredText(idx, "message", f.message)
		if err != nil {
			return err
		}
		txt.msg = b.addText(msg)
	}

	if f.timestamp == nil {
		return invalid(`event %d: missing required field "timestamp"`, idx)
	}
	ts, err := requiredText(idx, "timestamp", f.timestamp)
	if err != nil {
		return err
	}
	if env.Timestamp, err = parseTime(ts); err != nil {
		return invalid(`event %d: field "timestamp": must be an RFC 3339 time such as 2025-01-31T12:00:00.1234567Z`, idx)
	}

	if present(f.syslogSeverity) {
		sev, err := severity(f.syslogSeverity)
		if err != nil {
			return invalid(`event %d: field "syslog_severity": %s`, idx, err)
		}
		env.Severity = b.intPtr(sev)
	} else if present(f.severity) {
		// rsyslog's severity text; anything unknown is simply not a severity.
		if sev, err := severity(f.severity); err == nil {
			env.Severity = b.intPtr(sev)
		}
	}

	// app_name and facility are optional rule conditions. Like severity,
	// a value that is not one is simply not one: rsyslog templates send
	// "facility":"invld" for a bad PRI, and refusing such events would break
	// senders that worked before these fields were read.
	if name, ok := decodeText(f.appName); ok && len(name) > 0 {
		txt.app = b.addText(name)
	}
	if present(f.facility) {
		if fac, ok := facility(f.facility); ok {
			env.Facility = b.intPtr(fac)
		}
	}

	if f.reserved {
		env.Original = stripReserved(raw, members)
	}
	b.envs = append(b.envs, env)
	b.texts = append(b.texts, txt)
	return nil
}

// requiredText decodes a required non-empty string field. The result is
// raw's own bytes unless the string has escapes.
func requiredText(idx int, name string, raw json.RawMessage) ([]byte, error) {
	s, ok := decodeText(raw)
	if !ok {
		return nil, invalid("event %d: field %q: must be a non-empty string, got %s", idx, name, jsonKind(raw[0]))
	}
	if len(bytes.TrimSpace(s)) == 0 {
		return nil, invalid("event %d: field %q: must not be empty", idx, name)
	}
	return s, nil
}

// decodeString decodes a JSON string value; ok is false for any other kind.
func decodeString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true // jsonenc.Valid ruled out control characters
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// decodeText is decodeString without a copy when the string has no escape:
// then it is raw's bytes between the quotes.
func decodeText(raw json.RawMessage) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true // jsonenc.Valid ruled out control characters
	}
	s, ok := decodeString(raw)
	return []byte(s), ok
}

// appendTrapMessage appends the readable text of a trap without a message.
func (d *decoder) appendTrapMessage(dst []byte, idx int, oid string, variables json.RawMessage) ([]byte, error) {
	start := len(dst)
	b := bytes.NewBuffer(dst)
	b.Grow(len("SNMP trap ") + len(oid) + 2 + len(variables))
	b.WriteString("SNMP trap ")
	b.WriteString(oid)
	b.WriteString(": ")
	if err := json.Compact(b, variables); err != nil {
		return dst, badJSON(`event %d: field "variables": %s`, idx, err)
	}
	if b.Len()-start > d.maxField {
		return dst, invalid(`event %d: field "variables": the message rendered from it is longer than %d bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`, idx, d.maxField)
	}
	return b.Bytes(), nil
}

// parseTime parses RFC 3339 with any number of fractional digits (Go reads
// up to nanoseconds and ignores the rest), accepting the lower-case t and z
// RFC 3339 allows. The result must also be printable as RFC 3339 again
// (Go accepts offsets such as +24:00 it then refuses to format).
//
// It is time.Parse(time.RFC3339Nano, …) without making a string of b:
// Time.UnmarshalText reads RFC 3339 with the same fast path, and falls back
// to time.Parse with the layout RFC3339, which reads fractional seconds
// as RFC3339Nano does; both refuse a lower-case t or z, so what they accept
// needs no upper-casing (FuzzParseTime holds parseTime to the old answers).
func parseTime(b []byte) (time.Time, error) {
	var t time.Time
	if err := t.UnmarshalText(b); err != nil {
		s := string(b)
		if strings.ContainsAny(s, "tz") {
			s = strings.ToUpper(s)
		}
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, err
		}
	}
	if !rfc3339Printable(t) {
		return time.Time{}, errNotPrintable
	}
	return t, nil
}

var errNotPrintable = errors.New("time cannot be written as RFC 3339")

// rfc3339Printable says whether t.MarshalText and t.UTC().MarshalText both
// succeed (stored and shown in UTC, its year must be 0000-9999 there too,
// or the audit API could not write it as RFC 3339), without formatting it:
// MarshalText refuses a year outside 0-9999 and an offset of 24 h or more.
func rfc3339Printable(t time.Time) bool {
	_, off := t.Zone()
	if off <= -24*3600 || off >= 24*3600 {
		return false
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	if off == 0 {
		return true // the same year in UTC
	}
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// severity reads a syslog_severity or severity value.
func severity(raw json.RawMessage) (int, error) {
	if len(raw) == 1 && raw[0] >= '0' && raw[0] <= '7' {
		return int(raw[0] - '0'), nil
	}
	if s, ok := decodeText(raw); ok {
		// A name is looked up without making a string of it; anything
		// else gets ParseSeverity's answer (and its error message).
		if n, ok := event.SeverityName(string(s)); ok {
			return n, nil
		}
		return event.ParseSeverity(string(s))
	}
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		return event.ParseSeverity(json.Number(raw))
	}
	return 0, fmt.Errorf("%s is not a severity: use a number 0-7 or a name (emergency, alert, critical, error, warning, notice, info, debug)",
		jsonKind(raw[0]))
}

// facility reads a facility value: a code 0-23 as a JSON number or string,
// or a keyword such as "local4".
func facility(raw json.RawMessage) (int, bool) {
	if c := raw[0]; c >= '0' && c <= '9' {
		n, err := strconv.Atoi(string(raw))
		return n, err == nil && n <= event.MaxFacility
	}
	s, ok := decodeString(raw)
	if !ok {
		return 0, false
	}
	n, err := event.ParseFacility(s)
	return n, err == nil
}

// stripReserved rebuilds the object from its members minus the reserved
// ("_"-prefixed) ones, keeping the other members' bytes and order.
func stripReserved(raw []byte, members []member) json.RawMessage {
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	for i := range members {
		if members[i].reserved {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, members[i].span...)
	}
	return append(out, '}')
}
