package event

import (
	"encoding/json"
	"time"
)

// Sources of an event: the envelope's source field and the source label of
// the ingest metrics.
const (
	SourceHTTP      = "http"
	SourceSyslog    = "syslog" // no receiver sets it; kept for events stored before the listeners
	SourceSyslogUDP = "syslog_udp"
	SourceSyslogTCP = "syslog_tcp"
	SourceSyslogTLS = "syslog_tls"
	SourceSNMP      = "snmp"
)

// Sources lists every source a receiver of this version sets.
func Sources() []string {
	return []string{SourceHTTP, SourceSyslogUDP, SourceSyslogTCP, SourceSyslogTLS, SourceSNMP}
}

// Envelope is an accepted event as stored on the ingest stream. The normalised
// fields are what the alerter matches on; Original is the client's object with
// reserved ("_"-prefixed) fields removed.
type Envelope struct {
	EventID       string          `json:"event_id"` // UUIDv7, the idempotency key end to end
	ReceivedAt    time.Time       `json:"received_at"`
	CorrelationID string          `json:"correlation_id"`
	Source        string          `json:"source"`
	Hostname      string          `json:"hostname"`
	Message       string          `json:"message"`
	Timestamp     time.Time       `json:"timestamp"`          // the event's own time (audit partition key)
	Severity      *int            `json:"severity,omitempty"` // syslog 0-7 when the event carries one
	TrapOID       string          `json:"trap_oid,omitempty"` // normalised: no leading dot
	AppName       string          `json:"app_name,omitempty"` // syslog APP-NAME / tag, as sent
	Facility      *int            `json:"facility,omitempty"` // syslog facility 0-23 when the event carries one
	Original      json.RawMessage `json:"event"`
}

// Alert is what the alerter hands to the forwarder. It never carries a secret.
type Alert struct {
	EventID       string          `json:"event_id"` // Moogsoft external_id
	CorrelationID string          `json:"correlation_id"`
	ReceivedAt    time.Time       `json:"received_at"`
	EventTime     time.Time       `json:"event_time"`
	Hostname      string          `json:"hostname"`
	RuleID        int64           `json:"rule_id,omitempty"` // 0 for meta-alerts
	Handling      string          `json:"handling"`          // page_and_ticket | page_only | ticket_only | meta
	Environment   string          `json:"environment"`       // prod | dev
	Team          string          `json:"team"`
	Severity      *int            `json:"severity,omitempty"` // syslog 0-7
	Description   string          `json:"description"`
	Signature     string          `json:"signature"` // Moogsoft dedup key
	Meta          bool            `json:"meta,omitempty"`
	Original      json.RawMessage `json:"event,omitempty"`
}

// MoogSeverity maps a syslog severity (0 emergency … 7 debug) to the 0–5 scale
// of the peer's Moogsoft integration (Critical 5, Major 4, Warning 3, Minor 2,
// Info 1), so existing Moogsoft mappings keep working. An alert without a
// severity is sent as 3, the value the peer always sent.
func MoogSeverity(syslog *int) int {
	if syslog == nil {
		return 3
	}
	switch s := *syslog; {
	case s <= 2:
		return 5
	case s == 3:
		return 4
	case s == 4:
		return 3
	case s == 5:
		return 2
	default:
		return 1
	}
}
