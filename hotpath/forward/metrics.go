package forward

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/telemetry"
)

// Reasons of mutt_moog_requests_total{status="fail"}.
const (
	reasonHTTP        = "http"         // 408 or 5xx: retried
	reasonRateLimit   = "rate_limit"   // Moogsoft answered 429: retried
	reasonTimeout     = "timeout"      // no answer within moog_timeout_ms: retried
	reasonConnection  = "connection"   // transport error: retried
	reasonRejected    = "rejected"     // other 4xx or a 3xx: dead-lettered
	reasonCircuitOpen = "circuit_open" // not sent: the breaker is open
)

type metrics struct {
	requests      *prometheus.CounterVec
	reqSuccess    prometheus.Counter
	latency       prometheus.Histogram
	processed     *prometheus.CounterVec
	procSuccess   prometheus.Counter
	procDLQ       prometheus.Counter
	procRetry     prometheus.Counter
	rateLimitHits prometheus.Counter
	dlqDepth      prometheus.Gauge
	inflight      prometheus.Gauge
	retrying      prometheus.Gauge
	batchSize     prometheus.Histogram
	endToEnd      prometheus.Histogram
	cbState       prometheus.Gauge
	cbStatePython prometheus.Gauge // the Python MUTT's name and encoding, for its dashboards
	// cbChangesPython is the Python MUTT's
	// mutt_circuit_breaker_state_changes_total{name,from_state,to_state}.
	cbChangesPython *prometheus.CounterVec
	// cbFailuresPython is the Python MUTT's mutt_circuit_breaker_failures{name}:
	// the shared consecutive-failure count this forwarder last read.
	cbFailuresPython prometheus.Gauge
	cbTrips          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_moog_requests_total",
			Help: "Moogsoft webhook requests by outcome; reason says why a request failed or was not sent (circuit_open).",
		}, []string{"status", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_moog_request_latency_seconds",
			Help:    "Duration of Moogsoft webhook requests, answered or not.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_moog_alerts_processed_total",
			Help: "Alerts by outcome: success (Moogsoft acknowledged), dlq (dead-lettered), retry (scheduled for another attempt).",
		}, []string{"status"}),
		rateLimitHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_moog_rate_limit_hits_total",
			Help: "Requests held back by the global Moogsoft rate limit (they wait; nothing is dropped).",
		}),
		dlqDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_moog_dlq_depth",
			Help: "Entries in the Moogsoft dead-letter stream.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_moog_inflight_alerts",
			Help: "Alerts this forwarder holds: read from the stream and not yet acknowledged or dead-lettered (sending, waiting for a retry, the rate limit or the circuit breaker).",
		}),
		retrying: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_moog_retrying_alerts",
			Help: "Alerts this forwarder holds that failed and wait for a retry; at 2 × forwarder_batch_size, alerts that fail for the first time are dead-lettered as retry_overflow.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_moog_batch_size",
			Help:    "Alerts per Moogsoft request sent (at most moog_batch_size; a probe or a re-sent rejected batch carries one).",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_event_end_to_end_seconds",
			Help:    "Time from ingest (received_at) until Moogsoft acknowledged the alert.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		cbState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_moog_circuit_breaker_state",
			Help: "Shared Moogsoft circuit breaker: 0 closed, 1 open, 2 half-open.",
		}),
		cbStatePython: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "mutt_circuit_breaker_state",
			Help:        "The Python MUTT's alias of mutt_moog_circuit_breaker_state, with its encoding: 0 CLOSED, 1 HALF_OPEN, 2 OPEN.",
			ConstLabels: prometheus.Labels{"name": "moogsoft"},
		}),
		cbChangesPython: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "mutt_circuit_breaker_state_changes_total",
			Help:        "The Python MUTT's name: changes of the shared Moogsoft circuit breaker this forwarder saw, from_state and to_state CLOSED, OPEN or HALF_OPEN.",
			ConstLabels: prometheus.Labels{"name": "moogsoft"},
		}, []string{"from_state", "to_state"}),
		cbFailuresPython: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "mutt_circuit_breaker_failures",
			Help:        "The Python MUTT's name: consecutive Moogsoft failures counted by the shared circuit breaker, as this forwarder last read them (reset to 0 by a success or when the breaker opens).",
			ConstLabels: prometheus.Labels{"name": "moogsoft"},
		}),
		cbTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_moog_circuit_breaker_trips_total",
			Help: "Times this forwarder's failure opened the shared circuit breaker.",
		}),
	}
	if err := telemetry.Register(reg, "forwarder metrics", m.requests, m.latency, m.processed, m.rateLimitHits, m.dlqDepth, m.inflight, m.retrying, m.batchSize, m.endToEnd, m.cbState, m.cbStatePython, m.cbChangesPython, m.cbFailuresPython, m.cbTrips); err != nil {
		return nil, err
	}
	m.reqSuccess = m.requests.WithLabelValues("success", "")
	m.procSuccess = m.processed.WithLabelValues("success")
	m.procDLQ = m.processed.WithLabelValues("dlq")
	m.procRetry = m.processed.WithLabelValues("retry")
	return m, nil
}

// pythonStateName is the Python MUTT's name of our breaker encoding.
func pythonStateName(v int32) string {
	switch v {
	case 1:
		return "OPEN"
	case 2:
		return "HALF_OPEN"
	}
	return "CLOSED"
}

// pythonBreakerState maps our breaker encoding (0 closed, 1 open, 2
// half-open) to the Python MUTT's (0 CLOSED, 1 HALF_OPEN, 2 OPEN).
func pythonBreakerState(v int32) float64 {
	switch v {
	case 1:
		return 2
	case 2:
		return 1
	}
	return 0
}

// setBreakerFailures sets the Python MUTT's mutt_circuit_breaker_failures
// from the shared breaker's count read by Acquire.
func (m *metrics) setBreakerFailures(n int64) { m.cbFailuresPython.Set(float64(n)) }

func (m *metrics) fail(reason string) { m.requests.WithLabelValues("fail", reason).Inc() }
