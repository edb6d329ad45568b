package syslog

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/common"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/mutt-ops/mutt/internal/event"
)

// Formats of a parsed message (field "syslog_format" of the event).
const (
	formatRFC5424 = "rfc5424"
	formatRFC3164 = "rfc3164"
)

// maxHostname is the longest hostname kept from a message; a longer one is
// replaced by the sender's address (the ingestor refuses longer names).
const maxHostname = 255

// errMalformed marks a message the parsers could not read at all.
var errMalformed = errors.New("not a syslog message")

// parser turns one syslog message into an envelope. It is not safe for
// concurrent use (the go-syslog machines keep state): each listener
// goroutine owns one.
type parser struct {
	m gosyslog.Machine
}

// newParser builds a parser; loc is the time zone of RFC 3164 timestamps,
// which carry none (their year is the current one, see rfc3164.CurrentYear).
func newParser(loc *time.Location) *parser {
	return &parser{m: auto.NewMachine(
		auto.WithRFC5424Options(rfc5424.WithBestEffort()),
		auto.WithRFC3164Options(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{}),
			rfc3164.WithTimezone(loc), rfc3164.WithRFC3339(), rfc3164.WithSecondFractions()),
	)}
}

// fields is the event object of a syslog message (the envelope's original,
// audited as it is, and what the UI shows).
type fields struct {
	Hostname       string                       `json:"hostname"`
	Message        string                       `json:"message"`
	Timestamp      string                       `json:"timestamp"`
	SyslogSeverity *uint8                       `json:"syslog_severity,omitempty"`
	Severity       string                       `json:"severity,omitempty"` // keyword: err, warning, …
	Facility       *uint8                       `json:"facility,omitempty"`
	FacilityName   string                       `json:"facility_name,omitempty"` // keyword: kern, local7, …
	AppName        string                       `json:"app_name,omitempty"`
	ProcID         string                       `json:"proc_id,omitempty"`
	MsgID          string                       `json:"msg_id,omitempty"`
	StructuredData map[string]map[string]string `json:"structured_data,omitempty"`
	SourceIP       string                       `json:"source_ip"`
	Format         string                       `json:"syslog_format"`
	// HostnameFrom says where hostname came from when the message had none:
	// "source_ip" or "reverse_dns".
	HostnameFrom string `json:"hostname_from,omitempty"`
}

// parsed is one message read, before its hostname is settled.
type parsed struct {
	f  fields
	ts time.Time
}

// parse reads raw (one message without framing). A message the parsers
// cannot read at all is errMalformed (wrapped with the parser's error);
// best effort keeps whatever they could read of a partly broken one.
func (p *parser) parse(raw []byte, src netip.Addr, now time.Time) (parsed, error) {
	raw = trimTrailer(raw)
	if len(raw) == 0 {
		return parsed{}, errors.Join(errMalformed, errors.New("empty message"))
	}
	msg, err := p.m.Parse(raw)
	if msg == nil || !msg.Valid() {
		if err == nil {
			err = errors.New("no priority")
		}
		return parsed{}, errors.Join(errMalformed, err)
	}
	var base *gosyslog.Base
	out := parsed{f: fields{SourceIP: src.Unmap().String()}}
	switch m := msg.(type) {
	case *rfc5424.SyslogMessage:
		base, out.f.Format = &m.Base, formatRFC5424
		if m.StructuredData != nil && len(*m.StructuredData) > 0 {
			out.f.StructuredData = *m.StructuredData
		}
	case *rfc3164.SyslogMessage:
		base, out.f.Format = &m.Base, formatRFC3164
	default:
		return parsed{}, errors.Join(errMalformed, errors.New("unknown message type"))
	}
	if base.Severity == nil {
		// Priority-less messages are not accepted (Valid needs PRI without
		// WithOptionalPriority), so this is defensive.
		return parsed{}, errors.Join(errMalformed, errors.New("no priority"))
	}
	out.f.SyslogSeverity, out.f.Severity = base.Severity, common.SeverityLevelsShort[*base.Severity]
	out.f.Facility = base.Facility
	if name, ok := common.FacilityKeywords[*base.Facility]; ok {
		out.f.FacilityName = name
	}
	out.f.Hostname = clean(deref(base.Hostname))
	out.f.AppName = clean(deref(base.Appname))
	out.f.ProcID = clean(deref(base.ProcID))
	out.f.MsgID = clean(deref(base.MsgID))
	// Relays add a space before MSG (rsyslog's %msg% of a BSD message
	// keeps the one after "tag:"); no rule wants it.
	out.f.Message = strings.TrimLeft(clean(deref(base.Message)), " ")
	out.ts = now
	if base.Timestamp != nil && !base.Timestamp.IsZero() && base.Timestamp.Year() > 0 && base.Timestamp.Year() <= 9999 {
		out.ts = *base.Timestamp
	}
	if len(out.f.Hostname) > maxHostname || strings.ContainsAny(out.f.Hostname, " \t") {
		out.f.Hostname = ""
	}
	return out, nil
}

// envelope finishes p: hostname (the message's, else host), the timestamp
// in RFC 3339, and the original JSON.
func (p parsed) envelope(host, from string) (event.Envelope, error) {
	if p.f.Hostname == "" {
		p.f.Hostname, p.f.HostnameFrom = host, from
	}
	p.f.Timestamp = p.ts.Format(time.RFC3339Nano)
	orig, err := json.Marshal(p.f)
	if err != nil {
		return event.Envelope{}, err
	}
	sev := int(*p.f.SyslogSeverity)
	env := event.Envelope{
		Hostname: p.f.Hostname, Message: p.f.Message, Timestamp: p.ts, Severity: &sev, AppName: p.f.AppName,
		Original: orig,
	}
	if p.f.Facility != nil {
		fac := int(*p.f.Facility)
		env.Facility = &fac
	}
	return env, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clean makes s valid UTF-8 (syslog bytes may be anything; the stream and
// the audit hold JSON text) and drops a leading BOM (RFC 5424 MSG).
func clean(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// trimTrailer removes the line ends and NULs some senders leave at the end
// of a UDP datagram or a frame.
func trimTrailer(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}
