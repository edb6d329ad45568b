package forward

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// decodeAlert is json.Unmarshal(data, a) for the alerts the alerter writes,
// at a fraction of the cost: one jsonenc.Object pass checks the syntax and
// picks out the members. Anything unusual (escaped keys or strings, a key
// that only matches case-insensitively, a number that is not a plain
// integer) falls back to encoding/json, so the result is what encoding/json
// would give (FuzzDecodeAlertMatchesEncodingJSON).
//
// One difference, on purpose: the carried original event ("event") is not
// checked again, and appendEvent copies it into the Moogsoft payload as it
// is (trusted). The alert streams are written only by MUTT's alerter (its
// ACL user; DLQ replays move entries back unchanged), which takes the
// original from an ingest envelope whose receiver checked it with
// jsonenc.Valid or wrote it itself, and writes it with event.Alert.AppendJSON
// unchanged. Its end is still found, so an entry that is not even an object
// of members fails as before.
func decodeAlert(data []byte, a *event.Alert) error { return (*decoder)(nil).decode(data, a) }

// decoder decodes the alerts of one read (accept) with fewer allocations than
// decodeAlert: their strings are copied into buffers they share (reserve)
// and the severity points into the decoder, so an alert decoded with it is
// valid only until the next one (its strings stay valid: a buffer is only
// ever appended to). A nil *decoder allocates each string, as decodeAlert
// does.
type decoder struct {
	strs strings.Builder
	sev  int
}

// stringShare: the strings of an alert are about 1/stringShare of its
// entry (the rest is member names, numbers, times and the original event);
// for sizing the decoder's buffer.
const stringShare = 4

// reserve makes room for the strings of an entry of n bytes (at most n: on
// the fast path they are copied from it unchanged), in a new buffer of
// max(n, want) bytes if the current one has less left. Strings already
// handed out keep the old buffer.
func (d *decoder) reserve(n, want int) {
	if d.strs.Cap()-d.strs.Len() < n {
		d.strs = strings.Builder{}
		d.strs.Grow(max(n, want))
	}
}

// decode is decodeAlert.
func (d *decoder) decode(data []byte, a *event.Alert) error {
	o := jsonenc.NewObject(data)
	if !d.read(&o, a, true) {
		*a = event.Alert{}
		return json.Unmarshal(data, a)
	}
	return nil
}

// decodeAt is decode for the alert that starts at data[start], an element of
// an array entry (ADR 0049); it returns the offset just past the alert. The
// fast path finds the end as it reads, so the array is scanned once.
func (d *decoder) decodeAt(data []byte, start int, a *event.Alert) (int, error) {
	start = jsonenc.SkipSpace(data, start)
	o := jsonenc.NewElement(data, start)
	if d.read(&o, a, true) {
		return o.End(), nil
	}
	*a = event.Alert{}
	end := jsonenc.ValueEnd(data, start)
	if end == start {
		return start, errors.New("no JSON value")
	}
	return end, json.Unmarshal(data[start:end], a)
}

// readAlert is the fast path of decodeAlert; false means "let encoding/json
// decide". trustOriginal skips checking the grammar of "event".
func readAlert(data []byte, a *event.Alert, trustOriginal bool) bool {
	o := jsonenc.NewObject(data)
	return (*decoder)(nil).read(&o, a, trustOriginal)
}

// read is readAlert on the object o reads.
func (d *decoder) read(o *jsonenc.Object, a *event.Alert, trustOriginal bool) bool {
	seenOriginal := false
	for {
		key, ok := o.Next()
		if !ok {
			return o.Valid()
		}
		var val []byte
		if trustOriginal && string(key) == `"event"` {
			if seenOriginal {
				// A repeated "event" (never written by MUTT): only the
				// last is kept, so the skipped one would go unchecked;
				// encoding/json checks them all.
				return false
			}
			seenOriginal = true
			val = o.Trusted()
		} else {
			val = o.Value()
		}
		if val == nil || !d.setField(a, key, val) {
			return false
		}
	}
}

// setString is jsonenc.SetString, copying into the decoder's buffer.
func (d *decoder) setString(dst *string, val []byte) bool {
	if d == nil {
		return jsonenc.SetString(dst, val)
	}
	if string(val) == "null" {
		return true
	}
	text, ok := jsonenc.PlainText(val)
	if ok {
		start := d.strs.Len()
		d.strs.Write(text)
		*dst = d.strs.String()[start:]
	}
	return ok
}

// setSeverity is jsonenc.SetIntPtr, pointing into the decoder.
func (d *decoder) setSeverity(dst **int, val []byte) bool {
	if d == nil || string(val) == "null" {
		return jsonenc.SetIntPtr(dst, val)
	}
	n, err := strconv.ParseInt(string(val), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	d.sev = int(n)
	*dst = &d.sev
	return true
}

// alertFields are the JSON names of event.Alert's fields.
var alertFields = []string{"event_id", "correlation_id", "received_at", "event_time", "hostname", "rule_id",
	"handling", "environment", "team", "severity", "description", "signature", "meta", "event"}

// setField stores one member; false means "let encoding/json decide".
func (d *decoder) setField(a *event.Alert, rawKey, val []byte) bool {
	if bytes.IndexByte(rawKey, '\\') >= 0 {
		return false
	}
	key := rawKey[1 : len(rawKey)-1]
	null := string(val) == "null"
	switch string(key) {
	case "event_id":
		return d.setString(&a.EventID, val)
	case "correlation_id":
		return d.setString(&a.CorrelationID, val)
	case "hostname":
		return d.setString(&a.Hostname, val)
	case "handling":
		return d.setString(&a.Handling, val)
	case "environment":
		return d.setString(&a.Environment, val)
	case "team":
		return d.setString(&a.Team, val)
	case "description":
		return d.setString(&a.Description, val)
	case "signature":
		return d.setString(&a.Signature, val)
	case "received_at":
		return a.ReceivedAt.UnmarshalJSON(val) == nil // what encoding/json calls
	case "event_time":
		return a.EventTime.UnmarshalJSON(val) == nil
	case "rule_id":
		if null {
			return true
		}
		n, err := strconv.ParseInt(string(val), 10, 64)
		a.RuleID = n
		return err == nil
	case "severity":
		return d.setSeverity(&a.Severity, val)
	case "meta":
		switch string(val) {
		case "true":
			a.Meta = true
		case "false":
			a.Meta = false
		default:
			return null
		}
		return true
	case "event":
		a.Original = json.RawMessage(val) // aliases the entry, which the item keeps anyway
		return true
	}
	return !jsonenc.FoldsToAny(key, alertFields) // unknown member: ignored, as encoding/json does
}
