package stream

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the queue counters, shared by every consumer of a process.
type Metrics struct {
	read, acked, reclaimed *prometheus.CounterVec
	deadLettered           *prometheus.CounterVec
}

// NewMetrics registers the stream metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_stream_read_total", Help: "Entries read from a stream (new deliveries).",
		}, []string{"stream"}),
		acked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_stream_acked_total", Help: "Entries acknowledged and deleted.",
		}, []string{"stream"}),
		reclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_stream_reclaimed_total", Help: "Entries taken over after idling past the visibility timeout.",
		}, []string{"stream"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_stream_dead_lettered_total", Help: "Entries moved to a dead-letter stream, by reason.",
		}, []string{"stream", "reason"}),
	}
	reg.MustRegister(m.read, m.acked, m.reclaimed, m.deadLettered)
	return m
}
