package syslog

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/telemetry"
)

// Listener names (label listener of the mutt_syslog_* metrics).
const (
	listenerUDP = "udp"
	listenerTCP = "tcp"
	listenerTLS = "tls"
)

type metrics struct {
	messages    *prometheus.CounterVec // listener
	bytes       *prometheus.CounterVec // listener
	malformed   *prometheus.CounterVec // listener, reason
	dropped     *prometheus.CounterVec // listener, reason
	kernelDrops prometheus.Counter
	conns       *prometheus.GaugeVec   // listener
	refused     *prometheus.CounterVec // listener, reason
	retries     *prometheus.CounterVec // listener, reason
	dlqFailed   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_messages_total",
			Help: "Syslog messages received (datagrams or frames), before parsing and limits.",
		}, []string{"listener"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_received_bytes_total",
			Help: "Bytes of syslog messages received.",
		}, []string{"listener"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_malformed_total",
			Help: "Syslog messages sent to the dead-letter stream: reason parse (not syslog), too_large (over MUTT_SYSLOG_MAX_MESSAGE_BYTES) or framing (broken octet counting; the connection is closed).",
		}, []string{"listener", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_dropped_total",
			Help: "Syslog messages dropped: not_allowed (sender outside MUTT_SYSLOG_ALLOWED_SOURCES), and on UDP only rate_limited (MUTT_SYSLOG_SOURCE_RATE) and queue_full (the ingest path refused and the listener's queue is full); shutdown: still queued when the drain time ran out.",
		}, []string{"listener", "reason"}),
		kernelDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_syslog_udp_kernel_drops_total",
			Help: "Datagrams the kernel dropped because the UDP socket's receive buffer was full (SO_RXQ_OVFL); raise MUTT_SYSLOG_UDP_RECEIVE_BUFFER.",
		}),
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_syslog_connections",
			Help: "Open TCP/TLS syslog connections.",
		}, []string{"listener"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_connections_refused_total",
			Help: "TCP/TLS connections closed at once: not_allowed (sender outside MUTT_SYSLOG_ALLOWED_SOURCES), too_many (MUTT_SYSLOG_MAX_CONNECTIONS), tls (handshake failed).",
		}, []string{"listener", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_syslog_submit_retries_total",
			Help: "Batches the ingest path refused and the listener retried, by reason (rate_limited, queue_full, redis); TCP/TLS stop reading meanwhile.",
		}, []string{"listener", "reason"}),
		dlqFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_syslog_dead_letter_failures_total",
			Help: "Malformed messages that could not be written to the dead-letter stream (Redis unavailable); they are logged only.",
		}),
	}
	if err := telemetry.Register(reg, "syslog metrics", m.messages, m.bytes, m.malformed, m.dropped, m.kernelDrops,
		m.conns, m.refused, m.retries, m.dlqFailed); err != nil {
		return nil, err
	}
	return m, nil
}

// touch creates the series of a listener, so rate() sees zeros from the start.
func (m *metrics) touch(listener string) {
	m.messages.WithLabelValues(listener)
	m.bytes.WithLabelValues(listener)
	for _, r := range []string{"parse", "too_large", "framing"} {
		m.malformed.WithLabelValues(listener, r)
	}
	for _, r := range []string{"not_allowed", "rate_limited", "queue_full", "shutdown"} {
		m.dropped.WithLabelValues(listener, r)
	}
	if listener != listenerUDP {
		m.conns.WithLabelValues(listener)
		for _, r := range []string{"not_allowed", "too_many", "tls"} {
			m.refused.WithLabelValues(listener, r)
		}
	}
}
