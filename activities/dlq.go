package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

const (
	// dlqProbeTimeout bounds the Moogsoft health probe.
	dlqProbeTimeout = 5 * time.Second
	// dlqHealthTTL is how long a probe result is shared by every worker, so
	// frequent runs (and many workers) do not hammer Moogsoft.
	dlqHealthTTL = 60 * time.Second
)

// Fields of a dead-letter entry as hotpath/stream.Consumer.DeadLetter writes it.
const (
	dlqFieldReason       = "reason"
	dlqFieldError        = "error"
	dlqFieldSourceStream = "source_stream"
)

// Fields remediation adds to an entry it parks in the poison stream.
const (
	dlqPoisonFieldAt    = "poisoned_at"
	dlqPoisonFieldDLQ   = "dlq"          // origin DLQ: "moog" or "alerter"
	dlqPoisonFieldID    = "dlq_id"       // entry ID in the origin DLQ
	dlqPoisonFieldCause = "poison_cause" // "max_replays" or "no_payload"
)

// MoogHealthCache is the Redis key of the shared Moogsoft probe result:
// <prefix>remediation:moog_health.
func MoogHealthCache(k keyspace.Keys) string { return k.Prefix + "remediation:moog_health" }

type dlqMetrics struct {
	actions *prometheus.CounterVec
	health  prometheus.Gauge
	depth   *prometheus.GaugeVec
	// lastSuccess is the time of the last successful non-dry run, for the
	// "schedule has not succeeded in time" alert (MUTTScheduleLate).
	lastSuccess prometheus.Gauge
	py          pythonRemediationMetrics
}

// pythonRemediationMetrics are the Python MUTT v2.5 remediation service's
// metric names (shared/reference/peer-hotpath.md §7), kept as aliases of
// MUTT's so its dashboards and alert rules keep working.
type pythonRemediationMetrics struct {
	loops        prometheus.Counter     // mutt_remediation_loops_total: remediation runs
	depth        *prometheus.GaugeVec   // mutt_remediation_dlq_depth{dlq_name}: = mutt_dlq_depth, by key
	replayed     prometheus.Counter     // mutt_remediation_replay_success_total: = action="replayed"
	replayFailed *prometheus.CounterVec // mutt_remediation_replay_fail_total{reason}
	poisoned     prometheus.Counter     // mutt_remediation_poison_messages_total: = action="poisoned"
	health       prometheus.Gauge       // mutt_remediation_moog_health: = mutt_moog_health_status
	duration     prometheus.Histogram   // mutt_remediation_loop_duration_seconds: run start to depths recorded
}

func newDLQMetrics(reg prometheus.Registerer) (*dlqMetrics, error) {
	m := &dlqMetrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_auto_remediation_total",
			Help: "DLQ entries handled by remediation, by action: replayed, poisoned (parked in dlq:poison), " +
				"skipped_unhealthy (moog DLQ entries left in place because Moogsoft was unhealthy, counted per run), " +
				"discarded (deleted on an operator's request).",
		}, []string{"action"}),
		health: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_moog_health_status",
			Help: "Last Moogsoft health probe seen by DLQ remediation: 1 healthy, 0 unhealthy.",
		}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_dlq_depth",
			Help: "Entries in a dead-letter stream (moog, alerter, poison) after the last remediation run.",
		}, []string{"dlq"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mutt_dlq_remediation_last_success_timestamp_seconds",
			Help: "Unix time of the last DLQ remediation run (not a dry run) that succeeded; 0 before the first.",
		}),
	}
	m.py = pythonRemediationMetrics{
		loops: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_remediation_loops_total",
			Help: "The Python MUTT's name: DLQ remediation runs that recorded the DLQ depths."}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mutt_remediation_dlq_depth",
			Help: "The Python MUTT's alias of mutt_dlq_depth, labelled with the stream's key (dlq_name)."}, []string{"dlq_name"}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_remediation_replay_success_total",
			Help: "The Python MUTT's alias of mutt_auto_remediation_total{action=\"replayed\"}."}),
		replayFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mutt_remediation_replay_fail_total",
			Help: "The Python MUTT's name: replay batches that could not move their entries (reason redis_error; entries stay in the DLQ)."}, []string{"reason"}),
		poisoned: prometheus.NewCounter(prometheus.CounterOpts{Name: "mutt_remediation_poison_messages_total",
			Help: "The Python MUTT's alias of mutt_auto_remediation_total{action=\"poisoned\"}."}),
		health: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutt_remediation_moog_health",
			Help: "The Python MUTT's alias of mutt_moog_health_status: 1 healthy, 0 unhealthy."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mutt_remediation_loop_duration_seconds",
			Help:    "The Python MUTT's name: duration of a DLQ remediation run, from its start until the DLQ depths were recorded (workflow time).",
			Buckets: prometheus.DefBuckets}),
	}
	if err := telemetry.Register(reg, "DLQ remediation metrics", m.actions, m.health, m.depth, m.lastSuccess,
		m.py.loops, m.py.depth, m.py.replayed, m.py.replayFailed, m.py.poisoned, m.py.health, m.py.duration); err != nil {
		return nil, err
	}
	// Every action exists from the start, so rate() works before the first
	// event. dlq_replay is the Python MUTT v2.5 plan's name of replayed and
	// counts alike (ADR 0020 table in docs/MIGRATION_FROM_PYTHON_MUTT.md).
	for _, a := range []string{"replayed", "poisoned", "skipped_unhealthy", "discarded", actionPythonReplay} {
		m.actions.WithLabelValues(a)
	}
	for _, r := range []string{"processing_error", "redis_error"} {
		m.py.replayFailed.WithLabelValues(r)
	}
	return m, nil
}

// actionPythonReplay is the Python MUTT v2.5 plan's action label of a
// replay: mutt_auto_remediation_total{action="dlq_replay"} counts with
// action="replayed".
const actionPythonReplay = "dlq_replay"

// setHealth sets the Moogsoft health gauge and its Python alias.
func (m *dlqMetrics) setHealth(v float64) {
	m.health.Set(v)
	m.py.health.Set(v)
}

// dlqActivities are the activities of DLQRemediationWorkflow.
type dlqActivities struct {
	activityGroup[*dlqMetrics]
	probeTimeout time.Duration
	healthTTL    time.Duration
}

func newDLQActivities(d *Deps) (*dlqActivities, error) {
	g, err := newActivityGroup(d, "dlq_remediation", newDLQMetrics)
	if err != nil {
		return nil, err
	}
	return &dlqActivities{activityGroup: g, probeTimeout: dlqProbeTimeout, healthTTL: dlqHealthTTL}, nil
}

func registerDLQ(r Registry, d *Deps) error {
	a, err := newDLQActivities(d)
	if err != nil {
		return err
	}
	registerAs(r, map[string]any{
		workflows.ActivityDLQCheckMoogHealth: a.CheckMoogHealth,
		workflows.ActivityDLQReplayStream:    a.ReplayStream,
		workflows.ActivityDLQRecordDepths:    a.RecordDepths,
	})
	return nil
}

// CheckMoogHealth returns the shared cached probe result, or probes Moogsoft
// and caches the answer for every worker. Probe failures are an unhealthy
// result, not an error.
func (a *dlqActivities) CheckMoogHealth(ctx context.Context) (workflows.DLQMoogHealth, error) {
	key := MoogHealthCache(a.d.Keys)
	raw, err := a.d.Redis.Get(ctx, key).Bytes()
	switch {
	case err == nil:
		var h workflows.DLQMoogHealth
		if json.Unmarshal(raw, &h) == nil {
			h.Cached = true
			a.m.setHealth(dlqGauge(h.Healthy))
			a.log.Debug("moogsoft health from cache", "healthy", h.Healthy, "status", h.Status)
			return h, nil
		}
		a.log.Warn("unreadable cached moogsoft health; probing", "key", key)
	case !errors.Is(err, redis.Nil):
		a.log.Warn("read cached moogsoft health; probing", "err", err)
	}

	h := a.probe(ctx)
	if err := ctx.Err(); err != nil {
		return h, fmt.Errorf("probe moogsoft: %w", err)
	}
	a.m.setHealth(dlqGauge(h.Healthy))
	if raw, err := json.Marshal(h); err == nil {
		if err := a.d.Redis.Set(ctx, key, raw, a.healthTTL).Err(); err != nil {
			a.log.Warn("cache moogsoft health", "err", err)
		}
	}
	log := a.log.With("healthy", h.Healthy, "status", h.Status, "detail", h.Detail)
	switch {
	case h.Status == http.StatusUnauthorized || h.Status == http.StatusForbidden:
		// Up, so replay goes ahead, but the forwarder will be refused too.
		log.Warn("moogsoft refused the health probe's credentials; check MOOG_API_KEY")
	case !h.Healthy:
		log.Warn("moogsoft unhealthy; moog DLQ replay skipped")
	default:
		log.Info("moogsoft healthy")
	}
	return h, nil
}

// moogAPIKey is the key the forwarders send: the secrets provider's
// MOOG_API_KEY, read for every probe so a rotated key is what is checked,
// else the environment's.
func (a *dlqActivities) moogAPIKey(ctx context.Context) string {
	if a.d.Secrets != nil {
		snap, err := a.d.Secrets.Read(ctx)
		if err != nil {
			a.log.Warn("read MOOG_API_KEY from the secrets provider; probing with the environment's", "err", err)
		} else if k := snap.Get(secrets.MoogAPIKey); k != "" {
			return k
		}
	}
	return a.d.MoogAPIKey
}

// probe asks the webhook for its headers with the forwarder's credentials. It
// never posts an event: a probe must not create alerts in production.
func (a *dlqActivities) probe(ctx context.Context) workflows.DLQMoogHealth {
	h := workflows.DLQMoogHealth{CheckedAt: a.d.Now().UTC()}
	if a.d.MoogURL == "" {
		h.Detail = "MOOG_WEBHOOK_URL is not set: cannot check moogsoft"
		return h
	}
	ctx, cancel := context.WithTimeout(ctx, a.probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, a.d.MoogURL, nil)
	if err != nil {
		h.Detail = "build probe request: " + err.Error()
		return h
	}
	if key := a.moogAPIKey(ctx); key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := a.d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Drop the URL from the message: it is configuration, not diagnosis.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		h.Detail = "probe: " + err.Error()
		return h
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	h.Status = resp.StatusCode
	// Anything the endpoint answers itself means it is up; 5xx and 429 mean
	// it cannot take a replay now.
	h.Healthy = resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests
	h.Detail = "HTTP " + strconv.Itoa(resp.StatusCode)
	return h
}

// dlqStage is one DLQ and the streams its entries may be replayed to.
type dlqStage struct {
	name    string
	dlq     string
	targets []string // targets[0] is the fallback
}

func (a *dlqActivities) stage(name string) (dlqStage, bool) {
	k := a.d.Keys
	switch name {
	case workflows.DLQMoog:
		return dlqStage{name: name, dlq: k.MoogDLQ(), targets: k.AlertStreams()}, true
	case workflows.DLQAlerter:
		return dlqStage{name: name, dlq: k.AlerterDLQ(), targets: k.IngestStreams()}, true
	// Discard only: no targets (the workflow refuses to replay them).
	case workflows.DLQPoison:
		return dlqStage{name: name, dlq: k.PoisonDLQ()}, true
	case workflows.DLQSyslog:
		return dlqStage{name: name, dlq: k.SyslogDLQ()}, true
	case workflows.DLQSNMP:
		return dlqStage{name: name, dlq: k.SNMPDLQ()}, true
	}
	return dlqStage{}, false
}

// target is where an entry goes back to: the stream it was dead-lettered
// from when that is one of the stage's streams, else shard 0. An unknown name
// (shard count reduced, hand-made entry) never makes us write to an arbitrary
// key nobody consumes.
func (s dlqStage) target(source string) string {
	if slices.Contains(s.targets, source) {
		return source
	}
	return s.targets[0]
}

// dlqProgress is the heartbeat of ReplayStream: a retry resumes after Cursor
// with the counts so far. Until is the DLQ's last entry when the run began,
// so entries that fail again during the run are left for the next one.
type dlqProgress struct {
	Until  string                    `json:"until"`
	Cursor string                    `json:"cursor"`
	Result workflows.DLQReplayResult `json:"result"`
}

// ReplayStream moves up to MaxEntries entries of one DLQ, oldest first, in
// batches of BatchSize: each goes back to its stream with replays+1, or, if
// already replayed MaxReplays times, to the poison stream. It heartbeats after
// every batch and resumes from the last heartbeat when retried.
func (a *dlqActivities) ReplayStream(ctx context.Context, in workflows.DLQReplayInput) (workflows.DLQReplayResult, error) {
	st, ok := a.stage(in.Stream)
	if !ok || (len(st.targets) == 0 && !in.Discard) || in.MaxEntries <= 0 || in.BatchSize <= 0 || in.MaxReplays <= 0 {
		return workflows.DLQReplayResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid replay input %+v", in), workflows.DLQErrInvalidInput, nil)
	}
	log := a.log.With("dlq", st.name, "workflow_id", activity.GetInfo(ctx).WorkflowExecution.ID, "dry_run", in.DryRun)
	if len(in.IDs) > 0 {
		return a.replayIDs(ctx, log, st, in)
	}

	var p dlqProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			log.Warn("unreadable heartbeat details; starting over", "err", err)
			p = dlqProgress{}
		} else {
			log.Info("resuming DLQ replay", "cursor", p.Cursor, "examined", p.Result.Examined)
		}
	}
	if p.Until == "" {
		last, err := a.d.Redis.XRevRangeN(ctx, st.dlq, "+", "-", 1).Result()
		if err != nil {
			return p.Result, fmt.Errorf("read end of %s: %w", st.dlq, err)
		}
		if len(last) == 0 {
			return workflows.DLQReplayResult{Stream: st.name}, nil
		}
		p = dlqProgress{Until: last[0].ID, Result: workflows.DLQReplayResult{Stream: st.name}}
	}

	for p.Result.Examined < in.MaxEntries && p.Cursor != p.Until {
		if err := ctx.Err(); err != nil {
			return p.Result, fmt.Errorf("replay %s: %w", st.dlq, err)
		}
		start := "-"
		if p.Cursor != "" {
			start = "(" + p.Cursor
		}
		n := min(in.BatchSize, in.MaxEntries-p.Result.Examined)
		msgs, err := a.d.Redis.XRangeN(ctx, st.dlq, start, p.Until, int64(n)).Result()
		if err != nil {
			return p.Result, fmt.Errorf("read %s: %w", st.dlq, err)
		}
		if len(msgs) == 0 {
			break
		}
		// Work on a copy: the retry of a failed batch re-reads its entries
		// from the last heartbeat, so none of its counts may stick. (Entries
		// it did move are gone by then: the result undercounts them, the
		// metrics do not.)
		r := p.Result
		r.PoisonedEntries = slices.Clone(p.Result.PoisonedEntries)
		if err := a.replayBatch(ctx, log, st, in, msgs, &r); err != nil {
			return p.Result, err
		}
		p.Result, p.Cursor = r, msgs[len(msgs)-1].ID
		activity.RecordHeartbeat(ctx, p)
	}
	return p.Result, nil
}

// replayIDs handles the entries the operator selected, in batches of
// BatchSize with a heartbeat after each; an id no longer in the DLQ (replayed
// or discarded meanwhile, or by the attempt a retry resumes) counts as not found.
func (a *dlqActivities) replayIDs(ctx context.Context, log *slog.Logger, st dlqStage, in workflows.DLQReplayInput) (workflows.DLQReplayResult, error) {
	var p dlqProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			p = dlqProgress{}
		}
	}
	done, _ := strconv.Atoi(p.Cursor) // ids handled so far
	if done == 0 {
		p.Result = workflows.DLQReplayResult{Stream: st.name}
	}
	for done < len(in.IDs) {
		if err := ctx.Err(); err != nil {
			return p.Result, fmt.Errorf("replay %s: %w", st.dlq, err)
		}
		ids := in.IDs[done:min(done+in.BatchSize, len(in.IDs))]
		cmds := make([]*redis.XMessageSliceCmd, len(ids))
		_, err := a.d.Redis.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = pl.XRangeN(ctx, st.dlq, id, id, 1)
			}
			return nil
		})
		if err != nil {
			return p.Result, fmt.Errorf("read selected entries of %s: %w", st.dlq, err)
		}
		r := p.Result
		r.PoisonedEntries = slices.Clone(p.Result.PoisonedEntries)
		msgs := make([]redis.XMessage, 0, len(ids))
		for _, c := range cmds {
			if len(c.Val()) == 0 {
				r.NotFound++
				continue
			}
			msgs = append(msgs, c.Val()[0])
		}
		if err := a.replayBatch(ctx, log, st, in, msgs, &r); err != nil {
			return p.Result, err
		}
		done += len(ids)
		p.Result, p.Cursor = r, strconv.Itoa(done)
		activity.RecordHeartbeat(ctx, p)
	}
	return p.Result, nil
}

// discardBatch deletes the matched entries of one batch (DLQReplayInput.Discard).
func (a *dlqActivities) discardBatch(ctx context.Context, log *slog.Logger, st dlqStage, in workflows.DLQReplayInput,
	ids []string, r *workflows.DLQReplayResult) error {
	if len(ids) == 0 {
		return nil
	}
	if in.DryRun {
		r.Discarded += len(ids)
		return nil
	}
	n, err := a.d.Redis.XDel(ctx, st.dlq, ids...).Result()
	if err != nil {
		return fmt.Errorf("discard %d entries of %s: %w", len(ids), st.dlq, err)
	}
	r.Discarded += int(n)
	a.m.actions.WithLabelValues("discarded").Add(float64(n))
	log.Info("DLQ entries discarded", "count", n, "first_id", ids[0])
	return nil
}

// dlqMove is what happens to one DLQ entry.
type dlqMove struct {
	msg     redis.XMessage
	replays int64
	cause   string // set: park in the poison stream
	target  string // else: replay here
}

// replayBatch moves one batch: every add (to the target or the poison
// stream) first, then one XDEL of the entries whose add succeeded. A crash in
// between replays an entry twice (the hot path is idempotent on event_id) and
// never loses one.
func (a *dlqActivities) replayBatch(ctx context.Context, log *slog.Logger, st dlqStage, in workflows.DLQReplayInput,
	msgs []redis.XMessage, r *workflows.DLQReplayResult) error {
	moves := make([]dlqMove, 0, len(msgs))
	var discard []string
	for _, m := range msgs {
		r.Examined++
		if len(in.Reasons) > 0 && !slices.Contains(in.Reasons, dlqStr(m.Values[dlqFieldReason])) {
			r.Skipped++
			continue
		}
		if in.Discard {
			discard = append(discard, m.ID)
			continue
		}
		mv := dlqMove{msg: m}
		mv.replays, _ = strconv.ParseInt(dlqStr(m.Values[stream.ReplaysField]), 10, 64) // absent or garbled: 0
		_, hasData := m.Values[stream.Field]
		switch {
		case !hasData:
			mv.cause = "no_payload" // nothing to replay, ever
		case mv.replays >= int64(in.MaxReplays):
			mv.cause = "max_replays"
		default:
			src := dlqStr(m.Values[dlqFieldSourceStream])
			mv.target = st.target(src)
			if src != "" && src != mv.target {
				log.Warn("DLQ entry names an unknown source stream; replaying to shard 0",
					"id", m.ID, "source_stream", src, "target", mv.target)
			}
		}
		moves = append(moves, mv)
	}

	if in.Discard {
		return a.discardBatch(ctx, log, st, in, discard, r)
	}
	if in.DryRun {
		for _, mv := range moves {
			if mv.cause == "" {
				r.Replayed++
				continue
			}
			r.Poisoned++
			a.reportPoison(log, st, mv, "", r)
		}
		return nil
	}
	if len(moves) == 0 {
		return nil
	}

	poisonKey := a.d.Keys.PoisonDLQ()
	now := a.d.Now().UTC().Format(time.RFC3339Nano)
	adds := make([]*redis.StringCmd, len(moves))
	counts := make([]*redis.IntCmd, len(moves))
	// Per-command errors are read below; the pipeline's own error is the first of them.
	_, _ = a.d.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, mv := range moves {
			if mv.cause != "" {
				adds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: poisonKey, Values: dlqPoisonValues(mv, st.name, now)})
				continue
			}
			vals := []any{
				stream.Field, dlqStr(mv.msg.Values[stream.Field]),
				stream.ReplaysField, strconv.FormatInt(mv.replays+1, 10),
			}
			// Every target is an ingest or alert stream, whose entry may
			// hold several events or alerts (ADR 0048, ADR 0049): it goes
			// back with its count, and the stream's backlog in messages
			// (stream.CounterKey, which the ingestor's bound and every depth
			// reader use) grows by as many. The INCRBY is not atomic with
			// the XADD (a crash or error in between leaves the counter
			// short, or long when the XADD failed and the INCRBY did not):
			// acceptable, since the stream scripts heal it (never below
			// XLEN, never above XLEN × stream.MaxPerEntry, reset when the
			// stream empties).
			events := stream.ParseEvents(dlqStr(mv.msg.Values[stream.EventsField]))
			if events > 1 {
				vals = append(vals, stream.EventsField, strconv.FormatInt(events, 10))
			}
			adds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: mv.target, Values: vals})
			counts[i] = p.IncrBy(ctx, stream.CounterKey(mv.target), events)
		}
		return nil
	})
	for i, c := range counts {
		if c != nil && c.Err() != nil && adds[i].Err() == nil {
			log.Warn("replayed DLQ entry not counted in the stream's backlog (healed when the stream empties)",
				"id", moves[i].msg.ID, "target", moves[i].target, "err", c.Err())
		}
	}
	var addErr error
	moved := make([]string, 0, len(moves))
	for i, mv := range moves {
		if err := adds[i].Err(); err != nil {
			if addErr == nil {
				addErr = err
			}
			continue
		}
		moved = append(moved, mv.msg.ID)
	}
	if len(moved) > 0 {
		if err := a.d.Redis.XDel(ctx, st.dlq, moved...).Err(); err != nil {
			// Added but still in the DLQ: the retry replays them again.
			return fmt.Errorf("delete %d moved entries from %s: %w", len(moved), st.dlq, err)
		}
	}
	var replayed, poisoned int
	for i, mv := range moves {
		if adds[i].Err() != nil {
			continue
		}
		if mv.cause == "" {
			replayed++
			continue
		}
		poisoned++
		a.reportPoison(log, st, mv, adds[i].Val(), r)
	}
	r.Replayed += replayed
	r.Poisoned += poisoned
	a.m.actions.WithLabelValues("replayed").Add(float64(replayed))
	a.m.actions.WithLabelValues(actionPythonReplay).Add(float64(replayed))
	a.m.actions.WithLabelValues("poisoned").Add(float64(poisoned))
	a.m.py.replayed.Add(float64(replayed))
	a.m.py.poisoned.Add(float64(poisoned))
	if addErr != nil {
		a.m.py.replayFailed.WithLabelValues("redis_error").Inc()
		return fmt.Errorf("move entries out of %s: %w", st.dlq, addErr)
	}
	return nil
}

// dlqPoisonValues is the DLQ entry unchanged plus where and why it was parked,
// fields in name order so the entry is the same whoever writes it.
func dlqPoisonValues(mv dlqMove, dlq, now string) []any {
	fields := make(map[string]string, len(mv.msg.Values)+4)
	for k, v := range mv.msg.Values {
		fields[k] = dlqStr(v)
	}
	fields[dlqPoisonFieldAt] = now
	fields[dlqPoisonFieldDLQ] = dlq
	fields[dlqPoisonFieldID] = mv.msg.ID
	fields[dlqPoisonFieldCause] = mv.cause
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	vals := make([]any, 0, 2*len(names))
	for _, k := range names {
		vals = append(vals, k, fields[k])
	}
	return vals
}

// reportPoison logs a parked entry and lists it in the result (capped).
func (a *dlqActivities) reportPoison(log *slog.Logger, st dlqStage, mv dlqMove, poisonID string, r *workflows.DLQReplayResult) {
	e := workflows.DLQPoisonedEntry{
		DLQ: st.name, ID: mv.msg.ID, PoisonID: poisonID,
		Reason: dlqStr(mv.msg.Values[dlqFieldReason]), Error: dlqClip(dlqStr(mv.msg.Values[dlqFieldError])),
		Replays: mv.replays, Cause: mv.cause,
	}
	if poisonID == "" {
		log.Info("DLQ entry would be parked as poison", "id", e.ID, "reason", e.Reason, "err", e.Error,
			"replays", e.Replays, "cause", e.Cause)
	} else {
		log.Warn("DLQ entry parked as poison", "id", e.ID, "poison_id", poisonID, "reason", e.Reason,
			"err", e.Error, "replays", e.Replays, "cause", e.Cause)
	}
	if len(r.PoisonedEntries) >= workflows.DLQMaxReportedPoison {
		r.PoisonedTruncated = true
		return
	}
	r.PoisonedEntries = append(r.PoisonedEntries, e)
}

// RecordDepths sets the depth gauges after a run and counts the moog entries
// a run left because Moogsoft was unhealthy.
func (a *dlqActivities) RecordDepths(ctx context.Context, in workflows.DLQDepthsInput) (workflows.DLQDepths, error) {
	k := a.d.Keys
	keys := []string{k.MoogDLQ(), k.AlerterDLQ(), k.PoisonDLQ()}
	lens := make([]*redis.IntCmd, len(keys))
	_, err := a.d.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range keys {
			lens[i] = p.XLen(ctx, key)
		}
		return nil
	})
	if err != nil {
		return workflows.DLQDepths{}, fmt.Errorf("read DLQ depths: %w", err)
	}
	out := workflows.DLQDepths{Moog: lens[0].Val(), Alerter: lens[1].Val(), Poison: lens[2].Val()}
	a.m.depth.WithLabelValues(workflows.DLQMoog).Set(float64(out.Moog))
	a.m.depth.WithLabelValues(workflows.DLQAlerter).Set(float64(out.Alerter))
	a.m.depth.WithLabelValues(workflows.DLQPoison).Set(float64(out.Poison))
	for i, key := range keys {
		a.m.py.depth.WithLabelValues(key).Set(float64(lens[i].Val()))
	}
	a.m.py.loops.Inc()
	if !in.StartedAt.IsZero() {
		a.m.py.duration.Observe(max(0, time.Since(in.StartedAt).Seconds()))
	}
	if in.MoogSkipped {
		out.SkippedUnhealthy = int(min(out.Moog, int64(max(in.MaxEntries, 0))))
		if !in.DryRun {
			a.m.actions.WithLabelValues("skipped_unhealthy").Add(float64(out.SkippedUnhealthy))
		}
	}
	if in.Succeeded && !in.DryRun {
		a.m.lastSuccess.Set(float64(a.d.Now().Unix()))
	}
	return out, nil
}

func dlqStr(v any) string {
	s, _ := v.(string)
	return s
}

// dlqClip shortens an error text for the workflow result and heartbeats
// (a forwarder error carries a response body excerpt; the full text stays in
// the poison entry).
func dlqClip(s string) string {
	const limit = 300
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func dlqGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
