package forward

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mutt-ops/mutt/hotpath/event"
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

// AppendEvent appends the Moogsoft event object for a to dst. It is written by
// hand rather than through encoding/json: it runs once per alert on the hot
// path, and the original event is already JSON that needs no re-encoding.
func AppendEvent(dst []byte, a *event.Alert) []byte { return appendEvent(dst, a, false) }

// appendEvent is AppendEvent; trusted says a.Original is known to be valid JSON
// (it was just decoded by encoding/json), which saves scanning it again.
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

	dst = append(dst, `{"signature":`...)
	dst = appendString(dst, sig)
	dst = append(dst, `,"source_id":`...)
	dst = appendString(dst, host)
	dst = append(dst, `,"external_id":`...)
	dst = appendString(dst, a.EventID)
	dst = append(dst, `,"manager":"`+moogManager+`","source":"`+moogSource+`","class":`...)
	dst = appendString(dst, class)
	dst = append(dst, `,"agent":"`+moogAgent+`","agent_location":"`+moogAgentLocation+`","type":"`+moogType+`","severity":`...)
	dst = strconv.AppendInt(dst, int64(event.MoogSeverity(a.Severity)), 10)
	dst = append(dst, `,"description":`...)
	dst = appendString(dst, a.Description)
	dst = append(dst, `,"agent_time":`...)
	dst = strconv.AppendInt(dst, at.Unix(), 10)

	dst = append(dst, `,"custom_info":{"event_id":`...)
	dst = appendString(dst, a.EventID)
	dst = append(dst, `,"correlation_id":`...)
	dst = appendString(dst, a.CorrelationID)
	dst = append(dst, `,"rule_id":`...)
	if a.RuleID != 0 {
		dst = strconv.AppendInt(dst, a.RuleID, 10)
	} else {
		dst = append(dst, "null"...) // meta-alerts come from no rule
	}
	dst = append(dst, `,"handling":`...)
	dst = appendString(dst, a.Handling)
	dst = append(dst, `,"environment":`...)
	dst = appendString(dst, a.Environment)
	dst = append(dst, `,"team":`...)
	dst = appendString(dst, a.Team)
	dst = append(dst, `,"received_at":`...)
	if a.ReceivedAt.IsZero() {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = a.ReceivedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"meta":`...)
	dst = strconv.AppendBool(dst, a.Meta)
	dst = append(dst, `,"event":`...)
	switch {
	case len(a.Original) == 0:
		dst = append(dst, "null"...)
	case trusted || json.Valid(a.Original):
		dst = append(dst, a.Original...)
	default:
		// Never produce an invalid body because of one odd alert: carry the
		// bytes as a string instead.
		dst = appendString(dst, string(a.Original))
	}
	return append(dst, "}}"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, byte for byte as encoding/json does
// without HTML escaping: quotes, backslashes, control characters, U+2028/U+2029, and
// invalid UTF-8 as U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendBody builds one request body from encoded events: the bare object when
// the configured batch size is 1, {"events":[...]} otherwise (even for a
// partial batch, so the receiver sees one shape per configuration).
func appendBody(dst []byte, events [][]byte, batched bool) []byte {
	if !batched {
		return append(dst, events[0]...)
	}
	dst = append(dst, `{"events":[`...)
	for i, ev := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, ev...)
	}
	return append(dst, "]}"...)
}
