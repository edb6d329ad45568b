package ingest

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mutt-ops/mutt/hotpath/event"
)

// appendEnvelope appends e as the JSON json.Marshal makes of it (same
// fields, names and omitempty rules; TestAppendEnvelopeMatchesMarshal keeps
// the two in step), except that Original is copied as it is: the decoder
// has already validated it, and encoding/json would scan and rewrite it
// again (compacting and HTML-escaping the client's bytes).
func appendEnvelope(dst []byte, e *event.Envelope) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"received_at":`...)
	dst = appendTime(dst, e.ReceivedAt)
	dst = append(dst, `,"correlation_id":`...)
	dst = appendString(dst, e.CorrelationID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"hostname":`...)
	dst = appendString(dst, e.Hostname)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	dst = append(dst, `,"timestamp":`...)
	dst = appendTime(dst, e.Timestamp)
	if e.Severity != nil {
		dst = append(dst, `,"severity":`...)
		dst = strconv.AppendInt(dst, int64(*e.Severity), 10)
	}
	if e.TrapOID != "" {
		dst = append(dst, `,"trap_oid":`...)
		dst = appendString(dst, e.TrapOID)
	}
	dst = append(dst, `,"event":`...)
	if len(e.Original) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Original...)
	}
	return append(dst, '}')
}

// appendTime is time.Time's MarshalJSON for times the decoder has checked
// (year 0-9999, offset within ±24h).
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped, as encoding/json does; HTML characters are left
// alone (they need no escaping in JSON).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
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
