package forward

import (
	"strconv"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// Values of the constant event fields, as the peer's Moogsoft integration
// expects them (its mappings key on manager, source and agent).
const (
	moogManager       = "MUTT"
	moogSource        = "MUTT Alerter"
	moogAgent         = "MUTT"
	moogAgentLocation = "Alerter Service"
	moogType          = "Alert"
)

// payloadExtra is how much longer than its alert stream entry a Moogsoft
// event usually is, for sizing buffers: about 190 bytes more of constant
// members, and the event_id once more. A longer one costs a reallocation.
const payloadExtra = 256

// AppendEvent appends the Moogsoft event object for a to dst. It is written by
// hand rather than through encoding/json: it runs once per alert on the hot
// path, and the original event is already JSON that needs no re-encoding.
func AppendEvent(dst []byte, a *event.Alert) []byte { return appendEvent(dst, a, false) }

// appendEvent is AppendEvent; trusted says a.Original is known to be valid JSON
// (it came from an alert stream entry, which only MUTT's alerter writes: see
// decodeAlert), which saves scanning it again.
func appendEvent(dst []byte, a *event.Alert, trusted bool) []byte {
	sig := a.Signature
	if sig == "" {
		sig = a.Hostname // the peer's signature; better than none
	}
	host := a.Hostname
	if host == "" {
		host = "unknown"
	}
	class := a.Team
	if class == "" {
		class = "Unknown"
	}
	at := a.EventTime
	if at.IsZero() {
		at = a.ReceivedAt
	}

	dst = jsonenc.AppendStringMember(dst, `{"signature":`, sig)
	dst = jsonenc.AppendStringMember(dst, `,"source_id":`, host)
	dst = jsonenc.AppendStringMember(dst, `,"external_id":`, a.EventID)
	dst = jsonenc.AppendStringMember(dst, `,"manager":"`+moogManager+`","source":"`+moogSource+`","class":`, class)
	dst = append(dst, `,"agent":"`+moogAgent+`","agent_location":"`+moogAgentLocation+`","type":"`+moogType+`","severity":`...)
	dst = strconv.AppendInt(dst, int64(event.MoogSeverity(a.Severity)), 10)
	dst = jsonenc.AppendStringMember(dst, `,"description":`, a.Description)
	dst = append(dst, `,"agent_time":`...)
	dst = strconv.AppendInt(dst, at.Unix(), 10)

	dst = jsonenc.AppendStringMember(dst, `,"custom_info":{"event_id":`, a.EventID)
	dst = jsonenc.AppendStringMember(dst, `,"correlation_id":`, a.CorrelationID)
	dst = append(dst, `,"rule_id":`...)
	if a.RuleID != 0 {
		dst = strconv.AppendInt(dst, a.RuleID, 10)
	} else {
		dst = append(dst, "null"...) // meta-alerts come from no rule
	}
	dst = jsonenc.AppendStringMember(dst, `,"handling":`, a.Handling)
	dst = jsonenc.AppendStringMember(dst, `,"environment":`, a.Environment)
	dst = jsonenc.AppendStringMember(dst, `,"team":`, a.Team)
	dst = append(dst, `,"received_at":`...)
	if a.ReceivedAt.IsZero() {
		dst = append(dst, "null"...)
	} else {
		dst = jsonenc.AppendTime(dst, a.ReceivedAt.UTC())
	}
	dst = append(dst, `,"meta":`...)
	dst = strconv.AppendBool(dst, a.Meta)
	dst = append(dst, `,"event":`...)
	switch {
	case len(a.Original) == 0:
		dst = append(dst, "null"...)
	case trusted || jsonenc.Valid(a.Original):
		dst = append(dst, a.Original...)
	default:
		// Never produce an invalid body because of one odd alert: carry the
		// bytes as a string instead.
		dst = jsonenc.AppendString(dst, string(a.Original))
	}
	return append(dst, "}}"...)
}

// appendBody builds one request body from encoded events: the bare object when
// the configured batch size is 1, {"events":[...]} otherwise (even for a
// partial batch, so the receiver sees one shape per configuration).
func appendBody(dst []byte, events [][]byte, batched bool) []byte {
	for _, p := range bodyParts(nil, events, batched) {
		dst = append(dst, p...)
	}
	return dst
}

var (
	eventsOpen  = []byte(`{"events":[`)
	eventsComma = []byte(",")
	eventsClose = []byte("]}")
)

// bodyParts appends to dst the pieces of the body appendBody writes, in
// order: the events themselves and what goes around them, so a request
// can be sent from them (partsReader) without copying the events into one
// buffer first.
func bodyParts(dst [][]byte, events [][]byte, batched bool) [][]byte {
	if !batched {
		return append(dst, events[0])
	}
	dst = append(dst, eventsOpen)
	for i, ev := range events {
		if i > 0 {
			dst = append(dst, eventsComma)
		}
		dst = append(dst, ev)
	}
	return append(dst, eventsClose)
}
