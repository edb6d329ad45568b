package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// metrics of the ingestor; names follow the peer's where it had them.
type metrics struct {
	requests  *prometheus.CounterVec
	events    *prometheus.CounterVec
	bySource  *prometheus.CounterVec
	latency   prometheus.Histogram
	rateHits  prometheus.Counter
	rateAlias prometheus.Counter // mutt_ingest_rate_limited_total, the Python MUTT v2.5 plan's name
	depth     prometheus.Gauge
	batchSize prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_ingest_requests_total",
			Help: "Ingest requests by outcome: status success (reason empty) or fail with the reason (auth, json, validation, too_large, rate_limit, queue_full, redis).",
		}, []string{"status", "reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_ingest_events_total",
			Help: "Events accepted (queued), and rejected: every event of a decoded request that was refused, plus one per request whose body could not be decoded.",
		}, []string{"status"}),
		bySource: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_ingest_events_by_source_total",
			Help: "Events accepted (queued) and rejected by source (http, syslog_udp, syslog_tcp, syslog_tls, snmp); mutt_ingest_events_total is their sum. A receiver that retries a refused batch counts it as rejected each time.",
		}, []string{"source", "status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_ingest_latency_seconds",
			Help:    "Time to handle an authenticated ingest request, from arrival to response.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		rateHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_ingest_rate_limit_hits_total",
			Help: "Requests refused with 429 by the global ingest rate limit.",
		}),
		rateAlias: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_ingest_rate_limited_total",
			Help: "Alias of mutt_ingest_rate_limit_hits_total under the Python MUTT v2.5 name, for its dashboards.",
		}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_ingest_queue_depth",
			Help: "Ingest backlog: entries on the fullest ingest stream shard (requests to a shard holding max_ingest_queue_size / MUTT_STREAM_SHARDS get 503), refreshed every 2 s and by every request.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_ingest_batch_size",
			Help:    "Events per accepted ingest request or receiver batch.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
		}),
	}
	if err := telemetry.Register(reg, "ingest metrics", m.requests, m.events, m.bySource, m.latency, m.rateHits, m.rateAlias, m.depth, m.batchSize); err != nil {
		return nil, err
	}
	// Every series exists from the start, so rate() and alerts see zeros.
	m.requests.WithLabelValues("success", "")
	for _, r := range []string{reasonAuth, reasonJSON, reasonValidation, reasonTooLarge, reasonRateLimit, reasonQueueFull, reasonRedis, reasonNotDurable} {
		m.requests.WithLabelValues("fail", r)
	}
	m.events.WithLabelValues("accepted")
	m.events.WithLabelValues("rejected")
	for _, src := range event.Sources() {
		m.bySource.WithLabelValues(src, "accepted")
		m.bySource.WithLabelValues(src, "rejected")
	}
	return m, nil
}

// countEvents adds n events of one source to mutt_ingest_events_total and
// mutt_ingest_events_by_source_total; accepted batches also go to
// mutt_ingest_batch_size.
func (m *metrics) countEvents(source, status string, n int) {
	m.events.WithLabelValues(status).Add(float64(n))
	m.bySource.WithLabelValues(source, status).Add(float64(n))
	if status == "accepted" {
		m.batchSize.Observe(float64(n))
	}
}
