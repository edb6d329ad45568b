package snmptrap

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/telemetry"
)

type metrics struct {
	packets      *prometheus.CounterVec
	traps        *prometheus.CounterVec
	acks         prometheus.Counter
	deadLettered *prometheus.CounterVec
	dlqErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_snmp_packets_total",
			Help: "SNMP datagrams received on the trap port by outcome: accepted, rate_limited (per-source limit), malformed, community (not allowed), v3_rejected (unknown user, bad digest or key), not_trap, refused (not queued: rate limit, backlog or Redis), discovery (engine-ID probe answered), unknown_engine.",
		}, []string{"outcome"}),
		traps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_snmp_traps_total",
			Help: "Notifications queued as events, by SNMP version and PDU (trap or inform).",
		}, []string{"version", "pdu"}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_snmp_informs_acknowledged_total",
			Help: "INFORMs acknowledged (each only after its event was queued in Redis).",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_snmp_dead_lettered_total",
			Help: "Datagrams kept in the SNMP dead-letter stream, by reason.",
		}, []string{"reason"}),
		dlqErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_snmp_dead_letter_errors_total",
			Help: "Rejected datagrams that could not be written to the dead-letter stream (Redis unavailable): lost.",
		}),
	}
	if err := telemetry.Register(reg, "snmp trap metrics", m.packets, m.traps, m.acks, m.deadLettered, m.dlqErrors); err != nil {
		return nil, err
	}
	for _, o := range outcomes {
		m.packets.WithLabelValues(o)
	}
	return m, nil
}
