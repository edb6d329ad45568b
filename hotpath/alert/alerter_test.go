package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/rules"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
)

const wait = 15 * time.Second // upper bound for Eventually; never a timing assertion

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is one isolated alerter environment: its own Redis prefix and database.
type rig struct {
	rdb  *redis.Client
	keys keyspace.Keys
	db   *pgxpool.Pool
	dyn  *dynconfig.Store
}

func newRig(t testing.TB) *rig {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	db := testenv.Postgres(t)
	_, err := schema.SeedExamples(context.Background(), db)
	require.NoError(t, err)
	return &rig{rdb: rdb, keys: keys, db: db, dyn: dynconfig.NewStore(rdb, keys, quiet)}
}

// set changes dynamic config the way an operator does, and makes this
// process's store see it at once.
func (r *rig) set(t testing.TB, name, value string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, dynconfig.Set(ctx, r.rdb, r.keys, name, value))
	require.NoError(t, r.dyn.Reload(ctx))
}

// instance is one alerter with its own registry.
type instance struct {
	a   *Alerter
	reg *prometheus.Registry
}

func (r *rig) newAlerter(t testing.TB, db *pgxpool.Pool, consumer string) *instance {
	t.Helper()
	reg := prometheus.NewRegistry()
	a, err := New(Options{
		Redis: r.rdb, DB: db, Keys: r.keys, Dyn: r.dyn, Log: quiet, Registerer: reg,
		StreamMetrics: stream.NewMetrics(reg), Consumer: consumer,
	})
	require.NoError(t, err)
	return &instance{a: a, reg: reg}
}

// start runs the alerter until stop (or the end of the test) and returns stop,
// which waits for Run to return.
func (in *instance) start(t testing.TB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Error("alerter did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func (r *rig) start(t *testing.T) *instance {
	t.Helper()
	in := r.newAlerter(t, r.db, "alerter-"+uuid.NewString()[:8])
	in.start(t)
	return in
}

// metric returns the value of a counter or gauge; labels are name, value
// pairs. t may be an EventuallyWithT condition's collect T.
func (in *instance) metric(t require.TestingT, name string, labels ...string) float64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	mfs, err := in.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func newEnvelope(host, msg string) event.Envelope {
	now := time.Now().UTC().Truncate(time.Microsecond)
	orig, _ := json.Marshal(map[string]string{"hostname": host, "message": msg, "timestamp": now.Format(time.RFC3339Nano)})
	return event.Envelope{
		EventID: uuid.Must(uuid.NewV7()).String(), ReceivedAt: now, CorrelationID: "corr-" + uuid.NewString()[:8],
		Source: event.SourceHTTP, Hostname: host, Message: msg, Timestamp: now, Original: orig,
	}
}

func (r *rig) enqueueRaw(t testing.TB, payloads ...[]byte) {
	t.Helper()
	_, _, err := stream.Enqueue(context.Background(), r.rdb, r.keys.IngestStream(0), 0, payloads, nil)
	require.NoError(t, err)
}

func (r *rig) enqueue(t testing.TB, envs ...event.Envelope) {
	t.Helper()
	payloads := make([][]byte, len(envs))
	for i, e := range envs {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		payloads[i] = b
	}
	r.enqueueRaw(t, payloads...)
}

// enqueueEntries adds envs as entries of per events each, every entry a JSON
// array of envelopes (the last may hold fewer).
func (r *rig) enqueueEntries(t testing.TB, per int, envs ...event.Envelope) {
	t.Helper()
	var payloads [][]byte
	var events []int
	for chunk := range slices.Chunk(envs, per) {
		b, err := json.Marshal(chunk)
		require.NoError(t, err)
		payloads, events = append(payloads, b), append(events, len(chunk))
	}
	_, err := stream.Push(context.Background(), r.rdb, r.keys.IngestStream(0), 0, payloads, events)
	require.NoError(t, err)
}

// xlen is the length of stream key; t may be a collect T.
func (r *rig) xlen(t require.TestingT, key string) int64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	n, err := r.rdb.XLen(context.Background(), key).Result()
	require.NoError(t, err)
	return n
}

// drained waits until the ingest stream is empty: every entry acknowledged,
// which the alerter does only after the audit rows and alerts are written.
func (r *rig) drained(t *testing.T) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, r.xlen(c, r.keys.IngestStream(0)))
	}, wait, 10*time.Millisecond)
	pending, err := r.rdb.XPending(context.Background(), r.keys.IngestStream(0), Group).Result()
	require.NoError(t, err)
	require.Zero(t, pending.Count)
	require.Zero(t, r.rdb.Exists(context.Background(), stream.CounterKey(r.keys.IngestStream(0))).Val(),
		"the backlog counter of the emptied stream is gone")
}

func (r *rig) alerts(t *testing.T) []event.Alert {
	t.Helper()
	msgs := testenv.Queued(t, r.rdb, r.keys.AlertStream(0))
	out := make([]event.Alert, len(msgs))
	for i, m := range msgs {
		require.NoError(t, json.Unmarshal([]byte(m), &out[i]))
	}
	return out
}

type deadLetter struct{ reason, err, data string }

func (r *rig) deadLetters(t *testing.T) []deadLetter {
	t.Helper()
	msgs, err := r.rdb.XRange(context.Background(), r.keys.AlerterDLQ(), "-", "+").Result()
	require.NoError(t, err)
	out := make([]deadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = deadLetter{reason: m.Values["reason"].(string), err: m.Values["error"].(string), data: m.Values[stream.Field].(string)}
	}
	return out
}

type auditRow struct {
	EventID          string
	EventTimestamp   time.Time
	ReceivedAt       time.Time
	Hostname         string
	RuleID           *int64
	HandlingDecision string
	Forwarded        bool
	Team             *string
	Environment      *string
	CorrelationID    *string
	Raw              *string
}

func readAudit(t *testing.T, db *pgxpool.Pool) map[string][]auditRow {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT event_id::text, event_timestamp, received_at, hostname,
		matched_rule_id, handling_decision, forwarded_to_moog, team_assignment, environment, correlation_id, raw_message
		FROM event_audit_log`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]auditRow{}
	for rows.Next() {
		var a auditRow
		require.NoError(t, rows.Scan(&a.EventID, &a.EventTimestamp, &a.ReceivedAt, &a.Hostname, &a.RuleID,
			&a.HandlingDecision, &a.Forwarded, &a.Team, &a.Environment, &a.CorrelationID, &a.Raw))
		out[a.EventID] = append(out[a.EventID], a)
	}
	require.NoError(t, rows.Err())
	return out
}

func ruleIDOf(t *testing.T, db *pgxpool.Pool, match string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, db.QueryRow(context.Background(),
		`SELECT id FROM alert_rules WHERE match_string = $1 OR trap_oid = $1`, match).Scan(&id))
	return id
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.set(t, "unhandled_threshold", "3")
	in := r.start(t)

	linkDown := newEnvelope("router1.prod.example.com", "%LINK-3-UPDOWN: Interface Gi0/1, changed state to down LINK-DOWN")
	linkDown.Severity = new(int)
	*linkDown.Severity = 2
	ignored := newEnvelope("dev-router1", "%SYS-3-CPUHOG: ERROR task ran for 2004 msec")
	devCritical := newEnvelope("DEV-Router1", "%ENVMON-2-CRITICAL: Fan tray removed")
	var unmatched []event.Envelope
	for i := range 5 {
		// Differ only in numbers, so they share one fingerprint.
		unmatched = append(unmatched, newEnvelope("router1.prod.example.com",
			fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from console by admin on vty%d (10.1.1.%d)", i, i+10)))
	}
	r.enqueue(t, append([]event.Envelope{linkDown, ignored, devCritical}, unmatched...)...)
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, 3, "matched events only are audited")
	row := audit[linkDown.EventID]
	require.Len(t, row, 1)
	require.Equal(t, "router1.prod.example.com", row[0].Hostname)
	require.Equal(t, ruleIDOf(t, r.db, "LINK-DOWN"), *row[0].RuleID)
	require.Equal(t, "Page_and_ticket", row[0].HandlingDecision, "the rule's stored text")
	require.True(t, row[0].Forwarded)
	require.Equal(t, "NetOps", *row[0].Team)
	require.Equal(t, "prod", *row[0].Environment)
	require.Equal(t, linkDown.CorrelationID, *row[0].CorrelationID)
	require.JSONEq(t, string(linkDown.Original), *row[0].Raw)
	require.True(t, linkDown.Timestamp.Equal(row[0].EventTimestamp))
	require.True(t, linkDown.ReceivedAt.Equal(row[0].ReceivedAt))

	row = audit[ignored.EventID]
	require.Len(t, row, 1)
	require.Equal(t, "Ignore", row[0].HandlingDecision)
	require.False(t, row[0].Forwarded)
	require.Equal(t, "dev", *row[0].Environment)

	row = audit[devCritical.EventID]
	require.Len(t, row, 1)
	require.Equal(t, "Ticket_only", row[0].HandlingDecision)
	require.True(t, row[0].Forwarded)
	require.Equal(t, "dev", *row[0].Environment)

	alerts := r.alerts(t)
	require.Len(t, alerts, 3, "two rule alerts and one meta-alert")
	byID := map[string]event.Alert{}
	var metas []event.Alert
	for _, a := range alerts {
		if a.Meta {
			metas = append(metas, a)
		} else {
			byID[a.EventID] = a
		}
	}
	a := byID[linkDown.EventID]
	require.Equal(t, event.Alert{
		EventID: linkDown.EventID, CorrelationID: linkDown.CorrelationID, ReceivedAt: linkDown.ReceivedAt,
		EventTime: linkDown.Timestamp, Hostname: "router1.prod.example.com", RuleID: ruleIDOf(t, r.db, "LINK-DOWN"),
		Handling: "page_and_ticket", Environment: "prod", Team: "NetOps", Severity: linkDown.Severity,
		Description: linkDown.Message, Signature: fmt.Sprintf("router1.prod.example.com:rule:%d", ruleIDOf(t, r.db, "LINK-DOWN")),
		Original: a.Original,
	}, a)
	require.JSONEq(t, string(linkDown.Original), string(a.Original))
	a = byID[devCritical.EventID]
	require.Equal(t, "ticket_only", a.Handling)
	require.Equal(t, "dev", a.Environment)
	_, ok := byID[ignored.EventID]
	require.False(t, ok, "ignore audits only")

	require.Len(t, metas, 1, "exactly one meta-alert for the window")
	m := metas[0]
	require.Equal(t, "router1.prod.example.com", m.Hostname)
	require.Equal(t, "meta", m.Handling)
	require.Equal(t, "NetOps", m.Team, "device_teams entry of the host")
	require.Equal(t, "MUTT_Alerter:router1.prod.example.com:"+rules.Fingerprint(unmatched[0].Message), m.Signature)
	require.Equal(t, unmatched[2].EventID, m.EventID, "the third unmatched event reaches the threshold")
	require.Equal(t, "[MUTT] Detected 3 unhandled messages in 86400s from 'router1.prod.example.com'. Sample message: "+
		unmatched[2].Message, m.Description)
	require.Zero(t, m.RuleID)

	// The counters move once the batch is acknowledged, just after the
	// stream is seen drained.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 3, in.metric(c, "mutt_alerter_events_processed_total", "status", "handled"))
		assert.EqualValues(c, 5, in.metric(c, "mutt_alerter_events_processed_total", "status", "unhandled"))
		assert.EqualValues(c, 3, in.metric(c, "mutt_alerter_alerts_forwarded_total"))
		assert.EqualValues(c, 1, in.metric(c, "mutt_alerter_unhandled_meta_alerts_total"))
	}, wait, 10*time.Millisecond)
	require.EqualValues(t, 5, in.metric(t, "mutt_alerter_cache_rules_count"))
	require.EqualValues(t, 3, in.metric(t, "mutt_alerter_cache_dev_hosts_count"))
	require.EqualValues(t, 4, in.metric(t, "mutt_alerter_cache_teams_count"))
	require.Empty(t, r.deadLetters(t))
}

func TestMetaAlertDefaultTeamAndLoweredThreshold(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.set(t, "unhandled_threshold", "10")
	r.start(t)
	host := "edge9.example.net" // no device_teams entry
	for i := range 4 {
		r.enqueue(t, newEnvelope(host, fmt.Sprintf("BFD session %d flapped", i)))
	}
	r.drained(t)
	require.Empty(t, r.alerts(t))

	// Lowered below the count at run time: the next event fires (>=, not ==).
	r.set(t, "unhandled_threshold", "2")
	last := newEnvelope(host, "BFD session 77 flapped")
	r.enqueue(t, last)
	r.drained(t)
	alerts := r.alerts(t)
	require.Len(t, alerts, 1)
	require.Equal(t, "NETO", alerts[0].Team, "unhandled_default_team")
	require.Equal(t, last.EventID, alerts[0].EventID)

	// The window has fired: more of the same stay silent.
	r.enqueue(t, newEnvelope(host, "BFD session 78 flapped"), newEnvelope(host, "BFD session 79 flapped"))
	r.drained(t)
	require.Len(t, r.alerts(t), 1)
}

func TestRedeliveredEventIsAuditedOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.start(t)
	e := newEnvelope("router1.prod.example.com", "CRITICAL power supply failed")
	r.enqueue(t, e, e) // twice in one batch
	r.drained(t)
	r.enqueue(t, e) // and again later
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, 1)
	require.Len(t, audit[e.EventID], 1, "exactly one audit row per event_id")
	// Alerts are at-least-once; all carry the event_id Moogsoft dedups on.
	for _, a := range r.alerts(t) {
		require.Equal(t, e.EventID, a.EventID)
	}
}

// A batch that mixes a redelivered event with new ones: the COPY that writes
// a batch fails on the row already there and writes nothing, so the batch is
// written again with ON CONFLICT (ADR 0047) — the new events must not be lost
// with it, and the old one keeps its one row.
func TestBatchWithARedeliveredEventWritesTheNewOnes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.start(t)
	old := newEnvelope("router1.prod.example.com", "CRITICAL power supply failed")
	r.enqueue(t, old)
	r.drained(t)
	fresh1 := newEnvelope("router2.prod.example.com", "LINK-DOWN one")
	fresh2 := newEnvelope("router3.prod.example.com", "CRITICAL two")
	r.enqueue(t, fresh1, old, fresh2)
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, 3)
	for _, e := range []event.Envelope{old, fresh1, fresh2} {
		require.Len(t, audit[e.EventID], 1, "exactly one audit row for %s", e.Message)
	}
	forwarded := map[string]bool{}
	for _, a := range r.alerts(t) {
		forwarded[a.EventID] = true
	}
	require.True(t, forwarded[fresh1.EventID] && forwarded[fresh2.EventID], "the new events are forwarded")
	require.Empty(t, r.deadLetters(t))
}

func TestUnknownHandlingAuditsOnly(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	_, err := r.db.Exec(context.Background(), `INSERT INTO alert_rules (match_string, match_type, priority,
		prod_handling, dev_handling, team_assignment) VALUES ('AUDIT-ME', 'contains', 1, 'Log_only', 'Ignore', 'Ops')`)
	require.NoError(t, err)
	in := r.start(t)
	e1 := newEnvelope("core1", "AUDIT-ME one")
	e2 := newEnvelope("core1", "audit-me two")
	r.enqueue(t, e1, e2)
	r.drained(t)
	audit := readAudit(t, r.db)
	require.Len(t, audit, 2)
	require.Equal(t, "Log_only", audit[e1.EventID][0].HandlingDecision)
	require.False(t, audit[e1.EventID][0].Forwarded)
	require.Empty(t, r.alerts(t))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 2, in.metric(c, "mutt_alerter_unknown_handling_total"))
	}, wait, 10*time.Millisecond)
}

func TestCrashedConsumerBatchIsReclaimed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	var events []event.Envelope
	for i := range 20 {
		events = append(events, newEnvelope("router1.prod.example.com", fmt.Sprintf("LINK-DOWN port %d", i)))
	}
	r.enqueue(t, events...)

	// Alerter A reads the batch, writes the audit rows of the first half, and
	// dies before adding alerts or acknowledging anything.
	crashed := r.newAlerter(t, r.db, "alerter-crashed")
	require.NoError(t, crashed.a.reload(ctx, "test"))
	s := crashed.a.newShard(0)
	require.NoError(t, s.c.EnsureGroup(ctx))
	entries, err := s.c.Read(ctx)
	require.NoError(t, err)
	require.Len(t, entries, len(events))
	items, dead := crashed.a.prepare(crashed.a.engine.Load(), entries[:10])
	require.Empty(t, dead)
	rejected, err := crashed.a.writeAudit(ctx, newAuditRows(items))
	require.NoError(t, err)
	require.Empty(t, rejected)
	require.Len(t, readAudit(t, r.db), 10)

	// Alerter B takes the batch over once it has idled past the visibility timeout.
	r.set(t, "stream_visibility_timeout_ms", "200")
	b := r.start(t)
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, len(events))
	seen := map[string]bool{}
	for _, a := range r.alerts(t) {
		seen[a.EventID] = true
	}
	for _, e := range events {
		require.Len(t, audit[e.EventID], 1, "one audit row per event")
		require.True(t, seen[e.EventID], "every event produced its alert")
	}
	require.Len(t, r.alerts(t), len(events))
	require.EqualValues(t, len(events), b.metric(t, "mutt_stream_reclaimed_total"))
	require.Empty(t, r.deadLetters(t))
}

// proxiedDB returns a migrated, seeded database reached through a TCP proxy
// the test can cut, and a direct pool on the same database.
func proxiedDB(t *testing.T) (proxied, direct *pgxpool.Pool, proxy *testenv.Proxy) {
	t.Helper()
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	direct = testenv.PostgresAt(t, dbURL)
	_, err := schema.SeedExamples(ctx, direct)
	require.NoError(t, err)
	proxy = testenv.NewProxy(t, "127.0.0.1:5432")
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = proxy.Addr()
	proxied, err = pgxpool.New(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(proxied.Close)
	return proxied, direct, proxy
}

func TestPostgresOutageLosesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	proxied, direct, proxy := proxiedDB(t)
	const visibility = 1500 * time.Millisecond
	r.set(t, "stream_visibility_timeout_ms", fmt.Sprint(visibility.Milliseconds()))
	a := r.newAlerter(t, proxied, "alerter-a")
	a.start(t)

	before := newEnvelope("router1.prod.example.com", "LINK-DOWN before the outage")
	r.enqueue(t, before)
	r.drained(t)

	proxy.Cut()
	var during []event.Envelope
	for i := range 50 {
		during = append(during, newEnvelope("switch1.prod.example.com", fmt.Sprintf("CRITICAL fan %d failed", i)))
	}
	r.enqueue(t, during...)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, a.metric(c, "mutt_alerter_batch_retries_total", "step", "audit"), 2.0)
	}, wait, 10*time.Millisecond, "the alerter holds the batch and retries")

	// A healthy second alerter must not take the batch over: the first one
	// keeps its lease while it waits.
	b := r.newAlerter(t, direct, "alerter-b")
	b.start(t)
	bStarted := time.Now()
	// Outage well past the visibility timeout, so B would have reclaimed
	// the batch had A not kept its lease.
	require.Eventually(t, func() bool { return time.Since(bStarted) > 2*visibility }, wait, 50*time.Millisecond)
	proxy.Restore()
	r.drained(t)

	audit := readAudit(t, direct)
	require.Len(t, audit, len(during)+1)
	for _, e := range append(during, before) {
		require.Len(t, audit[e.EventID], 1, "audited exactly once")
	}
	require.Empty(t, r.deadLetters(t), "an outage dead-letters nothing")
	require.Zero(t, b.metric(t, "mutt_stream_reclaimed_total"), "the lease was kept")
	require.Len(t, r.alerts(t), len(during)+1)
	require.EventuallyWithT(t, func(c *assert.CollectT) { // counted once the batch is acknowledged
		assert.EqualValues(c, len(during), a.metric(c, "mutt_alerter_events_processed_total", "status", "error"))
	}, wait, 10*time.Millisecond)
}

// Unhandled events are counted while the batch's audit rows are written,
// not after: with PostgreSQL away the count is already in Redis, yet no
// alert (the meta-alert included) is added and nothing is acknowledged
// until the audit rows are written.
func TestUnhandledCountedWhileAuditWaits(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	proxied, direct, proxy := proxiedDB(t)
	r.set(t, "unhandled_threshold", "3")
	a := r.newAlerter(t, proxied, "alerter-overlap")
	a.start(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 5.0, a.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)

	proxy.Cut()
	linkDown := newEnvelope("router1.prod.example.com", "%LINK-3-UPDOWN: Interface Gi0/1, changed state to down LINK-DOWN")
	var unmatched []event.Envelope
	for i := range 3 {
		unmatched = append(unmatched, newEnvelope("router1.prod.example.com",
			fmt.Sprintf("%%SYS-5-CONFIG_I: Configured from console by admin on vty%d", i)))
	}
	r.enqueue(t, append([]event.Envelope{linkDown}, unmatched...)...)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, a.metric(c, "mutt_alerter_batch_retries_total", "step", "audit"), 1.0)
	}, wait, 10*time.Millisecond, "the batch is in hand, waiting for the database")
	key := r.keys.Unhandled("router1.prod.example.com", rules.Fingerprint(unmatched[0].Message))
	assert.EventuallyWithT(t, func(c *assert.CollectT) {
		fired, err := r.rdb.HGet(context.Background(), key, "fired").Result()
		assert.NoError(c, err)
		assert.Equal(c, unmatched[2].EventID, fired, "counted although the audit write has not succeeded")
	}, wait, 10*time.Millisecond)
	require.Empty(t, r.alerts(t), "nothing is added before the audit rows are written")
	require.EqualValues(t, 4, r.xlen(t, r.keys.IngestStream(0)), "nothing is acknowledged before the audit rows are written")

	proxy.Restore()
	r.drained(t)
	require.Len(t, readAudit(t, direct)[linkDown.EventID], 1)
	alerts := r.alerts(t)
	require.Len(t, alerts, 2, "the rule's alert and the meta-alert")
	require.True(t, alerts[1].Meta)
}

func TestShutdownFinishesTheBatchInHand(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	proxied, direct, proxy := proxiedDB(t)
	a := r.newAlerter(t, proxied, "alerter-stopping")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.a.Run(ctx) }()
	// Rules loaded before the database goes away.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 5, a.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)
	proxy.Cut()
	e := newEnvelope("router1.prod.example.com", "LINK-DOWN during shutdown")
	r.enqueue(t, e)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, a.metric(c, "mutt_alerter_batch_retries_total", "step", "audit"), 1.0)
	}, wait, 10*time.Millisecond, "the batch is in hand, waiting for the database")

	cancel() // shutdown begins with the batch in hand ...
	proxy.Restore()
	require.NoError(t, <-done) // ... and Run returns once it is done

	require.Len(t, readAudit(t, direct)[e.EventID], 1)
	require.Len(t, r.alerts(t), 1)
	require.Zero(t, r.xlen(t, r.keys.IngestStream(0)), "acknowledged before Run returned")
	consumers, err := r.rdb.XInfoConsumers(context.Background(), r.keys.IngestStream(0), Group).Result()
	require.NoError(t, err)
	require.Empty(t, consumers, "a consumer with nothing pending leaves the group")
}

func TestRuleChangesApplyOnNotice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	in := r.start(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := r.rdb.PubSubNumSub(ctx, r.keys.RulesUpdates()).Result()
		assert.NoError(c, err)
		assert.EqualValues(c, 1, n[r.keys.RulesUpdates()])
		assert.EqualValues(c, 5, in.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)

	var id int64
	require.NoError(t, r.db.QueryRow(ctx, `INSERT INTO alert_rules (match_string, match_type, priority, prod_handling,
		dev_handling, team_assignment) VALUES ('BRAND-NEW', 'regex', 1, 'Page_only', 'Ignore', 'Storage') RETURNING id`).Scan(&id))
	// An invalid regex the API would have refused: skipped, counted, the rest loads.
	_, err := r.db.Exec(ctx, `INSERT INTO alert_rules (match_string, match_type, priority, prod_handling,
		dev_handling, team_assignment) VALUES ('(broken', 'regex', 2, 'Page_only', 'Ignore', 'Storage')`)
	require.NoError(t, err)
	require.NoError(t, r.rdb.Publish(ctx, r.keys.RulesUpdates(), "rules").Err())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 6, in.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)
	require.EqualValues(t, 1, in.metric(t, "mutt_alerter_invalid_rules"))

	e := newEnvelope("array1", "disk brand-new failure") // would be unmatched under the seed rules
	r.enqueue(t, e)
	r.drained(t)
	row := readAudit(t, r.db)[e.EventID]
	require.Len(t, row, 1)
	require.Equal(t, id, *row[0].RuleID)
	require.Equal(t, "Storage", *row[0].Team)

	// A reload that fails keeps the previous rules, including the new one
	// that the failed reload would have deactivated.
	_, err = r.db.Exec(ctx, `UPDATE alert_rules SET is_active = false WHERE id = $1`, id)
	require.NoError(t, err)
	_, err = r.db.Exec(ctx, `ALTER TABLE development_hosts RENAME TO development_hosts_gone`)
	require.NoError(t, err)
	require.NoError(t, r.rdb.Publish(ctx, r.keys.RulesUpdates(), "rules").Err())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, in.metric(c, "mutt_alerter_cache_reload_failures_total"), 1.0)
	}, wait, 10*time.Millisecond)
	e2 := newEnvelope("array1", "disk brand-new failure again")
	r.enqueue(t, e2)
	r.drained(t)
	row = readAudit(t, r.db)[e2.EventID]
	require.Len(t, row, 1)
	require.Equal(t, id, *row[0].RuleID)
	require.EqualValues(t, 6, in.metric(t, "mutt_alerter_cache_rules_count"))
}

func TestUndecodableEntriesAreDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(t)
	good := newEnvelope("router1.prod.example.com", "LINK-DOWN")
	goodJSON, err := json.Marshal(good)
	require.NoError(t, err)
	r.enqueueRaw(t, []byte("not json"), []byte(`{"event_id":"not-a-uuid","hostname":"h","message":"LINK-DOWN"}`), goodJSON)
	r.drained(t)

	dls := r.deadLetters(t)
	require.Len(t, dls, 2)
	for _, d := range dls {
		require.Equal(t, ReasonDecodeError, d.reason)
		require.NotEmpty(t, d.err)
	}
	require.Equal(t, "not json", dls[0].data, "the original entry is kept")
	require.Len(t, readAudit(t, r.db), 1)
	// The counters move once the batch is acknowledged, just after the
	// stream is seen drained.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 2, in.metric(c, "mutt_alerter_events_processed_total", "status", "poison"))
		assert.EqualValues(c, 2, in.metric(c, "mutt_alerter_dlq_depth"))
	}, wait, 50*time.Millisecond)
}

func TestRowsPostgresRejectsAreDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.start(t)
	bad := newEnvelope(strings.Repeat("h", 300), "LINK-DOWN") // hostname is VARCHAR(255)
	good1 := newEnvelope("router1.prod.example.com", "LINK-DOWN one")
	good2 := newEnvelope("router1.prod.example.com", "CRITICAL two")
	r.enqueue(t, good1, bad, good2)
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, 2)
	require.Len(t, audit[good1.EventID], 1)
	require.Len(t, audit[good2.EventID], 1)
	dls := r.deadLetters(t)
	require.Len(t, dls, 1)
	require.Equal(t, ReasonAuditRejected, dls[0].reason)
	require.Contains(t, dls[0].err, "22001")
	var got event.Envelope
	require.NoError(t, json.Unmarshal([]byte(dls[0].data), &got))
	require.Equal(t, bad.EventID, got.EventID)
	for _, a := range r.alerts(t) {
		require.NotEqual(t, bad.EventID, a.EventID, "a rejected event is not forwarded")
	}
	require.Len(t, r.alerts(t), 2)
}

// An entry may carry several events (ADR 0048): each is audited and
// alerted on, one PostgreSQL refuses is dead-lettered alone, and the entry
// is acknowledged with the rest.
func TestEntryOfSeveralEvents(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.start(t)
	bad := newEnvelope(strings.Repeat("h", 300), "LINK-DOWN") // hostname is VARCHAR(255)
	good1 := newEnvelope("router1.prod.example.com", "LINK-DOWN one")
	good2 := newEnvelope("router1.prod.example.com", "CRITICAL two")
	single := newEnvelope("router2.prod.example.com", "LINK-DOWN three")
	r.enqueueEntries(t, 3, good1, bad, good2)
	r.enqueue(t, single)
	r.drained(t)

	audit := readAudit(t, r.db)
	require.Len(t, audit, 3)
	for _, e := range []event.Envelope{good1, good2, single} {
		require.Len(t, audit[e.EventID], 1, e.Message)
	}
	dls := r.deadLetters(t)
	require.Len(t, dls, 1)
	require.Equal(t, ReasonAuditRejected, dls[0].reason)
	var got event.Envelope
	require.NoError(t, json.Unmarshal([]byte(dls[0].data), &got), "the dead letter is the event alone")
	require.Equal(t, bad.EventID, got.EventID)
	var ids []string
	for _, a := range r.alerts(t) {
		ids = append(ids, a.EventID)
	}
	require.ElementsMatch(t, []string{good1.EventID, good2.EventID, single.EventID}, ids)
}

// An entry of several events with one that does not decode goes to the DLQ
// whole, as written: nothing of it is audited, nothing is lost.
func TestEntryWithAnUndecodableEventIsDeadLetteredWhole(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(t)
	good, err := json.Marshal(newEnvelope("router1.prod.example.com", "LINK-DOWN one"))
	require.NoError(t, err)
	entry := `[` + string(good) + `,{"event_id":"not-a-uuid"}]`
	_, err = stream.Push(context.Background(), r.rdb, r.keys.IngestStream(0), 0, [][]byte{[]byte(entry)}, []int{2})
	require.NoError(t, err)
	r.drained(t)
	require.EqualValues(t, 2, in.metric(t, "mutt_alerter_events_processed_total", "status", "poison"), "both events count")

	require.Empty(t, readAudit(t, r.db))
	require.Empty(t, r.alerts(t))
	dls := r.deadLetters(t)
	require.Len(t, dls, 1)
	require.Equal(t, ReasonDecodeError, dls[0].reason)
	require.Contains(t, dls[0].err, "event 1 of the entry")
	require.Equal(t, entry, dls[0].data)
}

func TestPoisonEntryIsDeadLettered(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.set(t, "alerter_max_attempts", "1")
	r.set(t, "stream_visibility_timeout_ms", "100")
	e := newEnvelope("router1.prod.example.com", "LINK-DOWN poison")
	r.enqueue(t, e)
	// Delivered once to a consumer that dies without acknowledging.
	raw := stream.NewConsumer(r.rdb, stream.Options{
		Stream: r.keys.IngestStream(0), Group: Group, Consumer: "dies", DeadLetter: r.keys.AlerterDLQ(),
	}, quiet, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, raw.EnsureGroup(ctx))
	got, err := raw.Read(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)

	r.start(t)
	r.drained(t)
	dls := r.deadLetters(t)
	require.Len(t, dls, 1)
	require.Equal(t, "max_deliveries_exceeded", dls[0].reason)
	require.Empty(t, readAudit(t, r.db))
	require.Empty(t, r.alerts(t))
}

func TestShedModeDLQ(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.set(t, "alerter_shed_mode", "dlq")
	r.set(t, "alerter_queue_shed_threshold", "1")
	// One entry of two alerts (ADR 0049): the backlog is two alerts, above
	// the threshold, though the stream has one entry.
	_, err := stream.Push(ctx, r.rdb, r.keys.AlertStream(0), 0, [][]byte{[]byte("[{},{}]")}, []int{2})
	require.NoError(t, err)
	in := r.start(t)
	events := []event.Envelope{
		newEnvelope("router1.prod.example.com", "LINK-DOWN a"),
		newEnvelope("router1.prod.example.com", "LINK-DOWN b"),
		newEnvelope("router1.prod.example.com", "nothing c"),
	}
	r.enqueue(t, events...)
	r.drained(t)

	dls := r.deadLetters(t)
	require.Len(t, dls, 3)
	for _, d := range dls {
		require.Equal(t, ReasonShed, d.reason)
		require.Contains(t, d.err, "alert backlog 2")
	}
	require.Empty(t, readAudit(t, r.db))
	require.EqualValues(t, 1, r.xlen(t, r.keys.AlertStream(0)))
	require.EventuallyWithT(t, func(c *assert.CollectT) { // counted once the entries are dead-lettered
		assert.EqualValues(c, 3, in.metric(c, "mutt_alerter_shed_events_total", "mode", "dlq"))
	}, wait, 10*time.Millisecond)
	require.EqualValues(t, 1, in.metric(t, "mutt_alerter_backpressure_active"))
	require.EqualValues(t, 2, in.metric(t, "mutt_alerter_queue_depth"))
}

func TestShedModeDeferWaitsForTheBacklog(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.set(t, "alerter_queue_shed_threshold", "1")
	r.set(t, "alerter_defer_sleep_ms", "20")
	require.NoError(t, stream.Add(ctx, r.rdb, r.keys.AlertStream(0), [][]byte{[]byte("{}"), []byte("{}")}))
	in := r.start(t)
	events := []event.Envelope{
		newEnvelope("router1.prod.example.com", "LINK-DOWN a"),
		newEnvelope("router1.prod.example.com", "LINK-DOWN b"),
	}
	r.enqueue(t, events...)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, in.metric(c, "mutt_alerter_shed_events_total", "mode", "defer"), 5.0)
	}, wait, 10*time.Millisecond)
	require.EqualValues(t, 2, r.xlen(t, r.keys.IngestStream(0)), "nothing read while deferring")
	pending, err := r.rdb.XPending(ctx, r.keys.IngestStream(0), Group).Result()
	require.NoError(t, err)
	require.Zero(t, pending.Count)
	require.EqualValues(t, 1, in.metric(t, "mutt_alerter_backpressure_active"))
	require.Empty(t, r.deadLetters(t))

	// The forwarder catches up.
	require.NoError(t, r.rdb.XTrimMaxLen(ctx, r.keys.AlertStream(0), 0).Err())
	r.drained(t)
	require.Len(t, readAudit(t, r.db), 2)
	require.EqualValues(t, 0, in.metric(t, "mutt_alerter_backpressure_active"))
	require.Empty(t, r.deadLetters(t))
}

func TestNewRequiresDependencies(t *testing.T) {
	t.Parallel()
	_, err := New(Options{})
	require.Error(t, err)
	for _, want := range []string{"Redis", "DB", "Dyn", "Registerer", "StreamMetrics", "Keys"} {
		require.Contains(t, err.Error(), want)
	}
}

// TestSeedFixtureMatchesDatabase keeps internal/rules/testdata/seed_rules.json
// (used by the pure engine tests) in step with schema.SeedExamples, as the alerter loads it.
func TestSeedFixtureMatchesDatabase(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.newAlerter(t, r.db, "loader")
	got, err := in.a.readRules(context.Background())
	require.NoError(t, err)
	var want struct {
		Rules    []rules.Rule      `json:"rules"`
		DevHosts []string          `json:"dev_hosts"`
		Teams    map[string]string `json:"teams"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "rules", "testdata", "seed_rules.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &want))
	eng, errs := rules.Compile(want.Rules, nil, nil)
	require.Empty(t, errs)
	require.Equal(t, eng.Rules(), got.rules, "ordered by priority, then id")
	require.ElementsMatch(t, want.DevHosts, got.devHosts)
	require.Equal(t, want.Teams, got.teams)
}
