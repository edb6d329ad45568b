package ingest

import (
	"strconv"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// appendEnvelope appends e as the JSON json.Marshal makes of it (same
// fields, names and omitempty rules; TestAppendEnvelopeMatchesMarshal keeps
// the two in step), except that Original is copied as it is: the decoder
// has already validated it, and encoding/json would scan and rewrite it
// again (compacting and HTML-escaping the client's bytes). Both times are
// within what jsonenc.AppendTime needs: the decoder refuses a timestamp
// outside year 0-9999 or with an offset of 24 hours or more.
func appendEnvelope(dst []byte, e *event.Envelope) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = jsonenc.AppendString(dst, e.EventID)
	dst = append(dst, `,"received_at":`...)
	dst = jsonenc.AppendTime(dst, e.ReceivedAt)
	dst = append(dst, `,"correlation_id":`...)
	dst = jsonenc.AppendString(dst, e.CorrelationID)
	dst = append(dst, `,"source":`...)
	dst = jsonenc.AppendString(dst, e.Source)
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
