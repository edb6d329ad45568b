package alert

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutt-ops/mutt/internal/telemetry"
)

// Values of the status label of mutt_alerter_events_processed_total.
const (
	statusHandled   = "handled"   // matched a rule and audited
	statusUnhandled = "unhandled" // matched no rule (counted for meta-alerts, not audited)
	statusPoison    = "poison"    // dead-lettered because of its own content (decode_error, audit_rejected)
	statusError     = "error"     // in a batch attempt that failed transiently and was retried
)

type metrics struct {
	processed        *prometheus.CounterVec
	forwarded        prometheus.Counter
	metaAlerts       prometheus.Counter
	unknownHandling  prometheus.Counter
	retries          *prometheus.CounterVec
	latency          prometheus.Histogram
	reloadLatency    prometheus.Histogram
	rulesCount       prometheus.Gauge
	devHostsCount    prometheus.Gauge
	teamsCount       prometheus.Gauge
	reloadFailures   prometheus.Counter
	reloads          prometheus.Counter // mutt_alerter_cache_reload_total: the Python MUTT's recording rules divide by it
	invalidRules     prometheus.Gauge
	dbWriteMillis    prometheus.Histogram
	batchSize        prometheus.Histogram
	dlqDepth         prometheus.Gauge
	shed             *prometheus.CounterVec
	queueDepth       prometheus.GaugeFunc
	backpressureFunc prometheus.GaugeFunc
}

// shardState is what each shard worker publishes for the gauges that sum
// over shards.
type shardState struct {
	backlog  atomic.Int64 // alert backlog of the shard's alert stream
	pressure atomic.Bool  // backlog above the shed threshold
}

func newMetrics(reg prometheus.Registerer, shards []shardState) (*metrics, error) {
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_alerter_events_processed_total",
			Help: "Events processed by the alerter, by outcome (handled, unhandled, poison, error).",
		}, []string{"status"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_alerter_alerts_forwarded_total",
			Help: "Alerts added to the alert stream (rule alerts and meta-alerts).",
		}),
		metaAlerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_alerter_unhandled_meta_alerts_total",
			Help: "Meta-alerts raised for hosts sending many unmatched messages.",
		}),
		unknownHandling: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_alerter_unknown_handling_total",
			Help: "Matched events whose rule has a handling word MUTT does not know (audited only, like ignore).",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_alerter_batch_retries_total",
			Help: "Failed attempts of a batch step (PostgreSQL or Redis unavailable) that were retried, by step.",
		}, []string{"step"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_alerter_processing_latency_seconds",
			Help:    "Time to process one batch, from read to acknowledgement.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		reloadLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mutt_alerter_cache_reload_latency_seconds",
			Help: "Time to load and compile rules, development hosts and device teams.",
		}),
		rulesCount: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_alerter_cache_rules_count", Help: "Active rules in use.",
		}),
		devHostsCount: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_alerter_cache_dev_hosts_count", Help: "Development hosts in use.",
		}),
		teamsCount: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_alerter_cache_teams_count", Help: "Device team entries in use.",
		}),
		reloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_alerter_cache_reload_failures_total",
			Help: "Rule reloads that failed (the previous rules stayed in force).",
		}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mutt_alerter_cache_reload_total",
			Help: "Rule reloads attempted, failed ones included (the Python MUTT's alert and recording rules query this name; its code never emitted it).",
		}),
		invalidRules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_alerter_invalid_rules",
			Help: "Active rules left out of the last load because they could not be compiled.",
		}),
		dbWriteMillis: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_db_write_latency_ms",
			Help:    "Milliseconds of one audit INSERT statement (a whole batch).",
			Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000},
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mutt_alerter_batch_size",
			Help:    "Events per batch read from the ingest stream (an entry may carry several).",
			Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
		}),
		dlqDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_alerter_dlq_depth", Help: "Entries in the alerter dead-letter stream.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_alerter_shed_events_total",
			Help: "Backpressure actions: mode=dlq counts events dead-lettered with reason shed, mode=defer counts pauses.",
		}, []string{"mode"}),
	}
	m.queueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mutt_alerter_queue_depth",
		Help: "Alert backlog (alerts on the alert streams, from their counters) as last seen by the alerter; the backpressure input.",
	}, func() float64 {
		var n int64
		for i := range shards {
			n += shards[i].backlog.Load()
		}
		return float64(n)
	})
	m.backpressureFunc = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mutt_alerter_backpressure_active",
		Help: "1 while the alert backlog of any shard is above alerter_queue_shed_threshold, else 0.",
	}, func() float64 {
		for i := range shards {
			if shards[i].pressure.Load() {
				return 1
			}
		}
		return 0
	})
	for _, s := range []string{statusHandled, statusUnhandled, statusPoison, statusError} {
		m.processed.WithLabelValues(s)
	}
	for _, s := range []string{"dlq", "defer"} {
		m.shed.WithLabelValues(s)
	}
	// Every step exists from the start, so increase() sees the first failed
	// audit INSERT (the MUTTAuditWritesFailing alert) rather than a new series.
	for _, s := range []string{"shed", "unhandled", "audit", "alerts", "dead_letter", "ack"} {
		m.retries.WithLabelValues(s)
	}
	if err := telemetry.Register(reg, "alerter metrics", m.processed, m.forwarded, m.metaAlerts, m.unknownHandling, m.retries, m.latency, m.reloadLatency, m.rulesCount, m.devHostsCount, m.teamsCount, m.reloadFailures, m.reloads, m.invalidRules, m.dbWriteMillis, m.batchSize, m.dlqDepth, m.shed, m.queueDepth, m.backpressureFunc); err != nil {
		return nil, err
	}
	return m, nil
}
