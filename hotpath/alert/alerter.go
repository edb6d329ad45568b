package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/rules"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
)

// Group is the consumer group of the alerters on the ingest stream.
const Group = "alerter"

// Dead-letter reasons the alerter writes (the stream package adds
// max_deliveries_exceeded for poison entries).
const (
	ReasonDecodeError   = "decode_error"
	ReasonAuditRejected = "audit_rejected"
	ReasonShed          = "shed"
)

const (
	backlogCheckEvery = 250 * time.Millisecond
	backlogWarnEvery  = time.Minute
	dlqDepthEvery     = 10 * time.Second
)

// Options configure an Alerter. Redis, DB, Dyn, Registerer and StreamMetrics
// are required.
type Options struct {
	Redis         redis.UniversalClient
	DB            *pgxpool.Pool
	Keys          keyspace.Keys
	Dyn           *dynconfig.Store
	Log           *slog.Logger // discarded when nil
	Registerer    prometheus.Registerer
	StreamMetrics *stream.Metrics
	Consumer      string // this process's consumer name; stream.ConsumerName("alerter") when empty
	// Tally, when set, counts the funnel (matched, audited, ignored,
	// unhandled, dead-lettered) for the live dashboard.
	Tally *tally.Recorder
}

// Alerter reads the ingest stream shards, applies the rules, audits matched
// events to PostgreSQL and adds alerts to the alert stream of the same shard.
type Alerter struct {
	o      Options
	log    *slog.Logger
	m      *metrics
	engine atomic.Pointer[rules.Engine]
	shards []shardState

	lastBacklogWarn atomic.Int64 // ns since started + backlogWarnEvery (see warnBacklog)
	started         time.Time
	unknownLogged   sync.Map   // "rule/env/word" already logged
	steps           stepHealth // batch steps failing now (Health)
}

// New checks o and registers the alerter's metrics.
func New(o Options) (*Alerter, error) {
	var missing []error
	if o.Redis == nil {
		missing = append(missing, errors.New("option Redis is required"))
	}
	if o.DB == nil {
		missing = append(missing, errors.New("option DB is required"))
	}
	if o.Dyn == nil {
		missing = append(missing, errors.New("option Dyn is required"))
	}
	if o.Registerer == nil {
		missing = append(missing, errors.New("option Registerer is required"))
	}
	if o.StreamMetrics == nil {
		missing = append(missing, errors.New("option StreamMetrics is required"))
	}
	if o.Keys.Shards < 1 {
		missing = append(missing, errors.New("option Keys must come from keyspace.New (no shards)"))
	}
	if err := errors.Join(missing...); err != nil {
		return nil, fmt.Errorf("alerter options: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Consumer == "" {
		o.Consumer = stream.ConsumerName("alerter")
	}
	a := &Alerter{
		o:       o,
		log:     o.Log.With("component", "alerter"),
		shards:  make([]shardState, o.Keys.Shards),
		steps:   stepHealth{after: stuckAfter},
		started: time.Now(),
	}
	m, err := newMetrics(o.Registerer, a.shards)
	if err != nil {
		return nil, err
	}
	a.m = m
	empty, _ := rules.Compile(nil, nil, nil)
	a.engine.Store(empty)
	return a, nil
}

// Run processes events until ctx ends, then finishes the batches in hand of
// every shard (within 30 s), acknowledges only what was done, and returns
// nil. It loads the rules first, retrying until that works.
func (a *Alerter) Run(ctx context.Context) error {
	// Subscribe before the first load, so a change published while loading
	// still triggers a reload.
	sub := a.o.Redis.Subscribe(ctx, a.o.Keys.RulesUpdates())
	defer func() { _ = sub.Close() }()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if _, err := sub.Receive(sctx); err != nil && ctx.Err() == nil {
		a.log.Warn("subscribe to rule updates failed, will keep trying", "err", err)
	}
	cancel()
	if err := a.loadInitial(ctx); err != nil {
		return nil // ctx ended before rules could be loaded: nothing was read
	}
	a.log.Info("alerter started", "consumer", a.o.Consumer, "shards", a.o.Keys.Shards,
		"batch", a.batchSize(), "inflight_batches", a.inflight())
	var wg sync.WaitGroup
	wg.Go(func() { a.watchRules(ctx, sub) })
	wg.Go(func() { a.watchDLQ(ctx) })
	for n := range a.o.Keys.Shards {
		wg.Go(func() { a.newShard(n).run(ctx) })
	}
	wg.Wait()
	a.log.Info("alerter stopped", "consumer", a.o.Consumer)
	return nil
}

// watchDLQ refreshes mutt_alerter_dlq_depth periodically (entries also
// leave the DLQ through remediation, and the stream package adds poison
// entries the alerter does not see).
func (a *Alerter) watchDLQ(ctx context.Context) {
	for {
		a.refreshDLQDepth(ctx)
		if !sleepCtx(ctx, dlqDepthEvery) {
			return
		}
	}
}

func (a *Alerter) refreshDLQDepth(ctx context.Context) {
	if n, err := stream.Len(ctx, a.o.Redis, a.o.Keys.AlerterDLQ()); err == nil {
		a.m.dlqDepth.Set(float64(n))
	}
}

// shard is the worker of one ingest stream shard.
type shard struct {
	a           *Alerter
	n           int
	log         *slog.Logger
	c           *stream.Consumer
	alertStream string
	state       *shardState
	backlogAt   time.Time // when state.backlog was last measured
	// perEntry is the events per entry of the last batch, in thousandths:
	// an entry may carry several events (ADR 0048). Set by the batch's
	// goroutine, read by the reader's.
	perEntry atomic.Int64
}

func (a *Alerter) newShard(n int) *shard {
	log := a.log.With("shard", n)
	return &shard{
		a:   a,
		n:   n,
		log: log,
		c: stream.NewConsumer(a.o.Redis, stream.Options{
			Stream:        a.o.Keys.IngestStream(n),
			Counter:       stream.CounterKey(a.o.Keys.IngestStream(n)),
			Group:         Group,
			Consumer:      a.o.Consumer,
			DeadLetter:    a.o.Keys.AlerterDLQ(),
			Count:         a.batchSize(),
			Visibility:    a.visibility,
			MaxDeliveries: func() int64 { return a.o.Dyn.Int(dynconfig.AlerterMaxAttempts) },
		}, log, a.o.StreamMetrics),
		alertStream: a.o.Keys.AlertStream(n),
		state:       &a.shards[n],
	}
}

func (a *Alerter) batchSize() int64 { return max(a.o.Dyn.Int(dynconfig.AlerterBatchSize), 1) }

// resize makes the next read take about alerter_batch_size events (the
// setting is dynamic), bounded as stream.ReadCount says (ADR 0048). Call it
// from the reader's goroutine.
func (s *shard) resize() {
	s.c.SetCount(stream.ReadCount(s.a.batchSize(), s.perEntry.Load()))
}

func (a *Alerter) visibility() time.Duration {
	return a.o.Dyn.Duration(dynconfig.StreamVisibilityTimeout)
}

func (s *shard) run(ctx context.Context) {
	var b backoff
	for {
		err := s.c.EnsureGroup(ctx)
		if err == nil {
			break
		}
		s.log.Warn("create consumer group failed, retrying", "err", err)
		if !b.sleep(ctx) {
			return
		}
	}
	b = backoff{}
	// Batches in flight: the reader reads the next batch while earlier ones
	// are being audited, added and acknowledged, up to
	// alerter_inflight_batches at once. Each batch keeps its own order of
	// steps (audit rows, then alerts, then ack), so nothing is acknowledged
	// before both writes are durable (ADR 0033).
	fl := newFlight()
	for ctx.Err() == nil {
		if !fl.wait(ctx, s.a.inflight()) {
			break
		}
		shed, read := s.admit(ctx)
		if !read {
			continue
		}
		s.resize()
		entries, err := s.c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.log.Warn("read ingest stream failed, retrying", "err", err)
			b.sleep(ctx)
			continue
		}
		b = backoff{}
		if len(entries) == 0 {
			continue
		}
		if shed {
			s.shed(ctx, s.c, entries)
			continue
		}
		fl.start(func() { s.process(ctx, s.c, entries) })
	}
	fl.drain() // the batches in hand finish within the shutdown grace
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.c.Close(cctx); err != nil {
		s.log.Warn("leave consumer group", "err", err)
	}
}

func (a *Alerter) inflight() int { return int(max(a.o.Dyn.Int(dynconfig.AlerterInflightBatches), 1)) }

// flight counts the batches of one shard in progress.
type flight struct {
	mu   sync.Mutex
	n    int
	done chan struct{} // signalled (non-blocking) when a batch ends
	wg   sync.WaitGroup
}

func newFlight() *flight { return &flight{done: make(chan struct{}, 1)} }

// wait blocks until fewer than limit batches are in progress; false when
// ctx ended first.
func (f *flight) wait(ctx context.Context, limit int) bool {
	for {
		f.mu.Lock()
		n := f.n
		f.mu.Unlock()
		if n < limit {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-f.done:
		}
	}
}

// start runs fn as one batch in progress.
func (f *flight) start(fn func()) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	f.wg.Go(func() {
		defer func() {
			f.mu.Lock()
			f.n--
			f.mu.Unlock()
			select {
			case f.done <- struct{}{}:
			default:
			}
		}()
		fn()
	})
}

// drain waits for every batch in progress.
func (f *flight) drain() { f.wg.Wait() }

// admit applies backpressure before a read, from the backlog of this shard's
// alert stream: it reports whether to read at all, and whether what is read
// is to be shed. While deferring it has already paused.
func (s *shard) admit(ctx context.Context) (shed, read bool) {
	a := s.a
	if now := time.Now(); now.Sub(s.backlogAt) >= backlogCheckEvery {
		n, err := stream.Depth(ctx, a.o.Redis, s.alertStream)
		if err != nil {
			// Without a measurement keep the last one; a Redis outage shows
			// up in Read anyway.
			s.log.Debug("measure alert backlog", "err", err)
		} else {
			s.state.backlog.Store(n)
			s.backlogAt = now
		}
	}
	depth := s.state.backlog.Load()
	if depth > a.o.Dyn.Int(dynconfig.AlerterQueueWarnThreshold) {
		a.warnBacklog(depth)
	}
	limit := a.o.Dyn.Int(dynconfig.AlerterQueueShedThreshold)
	if depth <= limit {
		s.state.pressure.Store(false)
		return false, true
	}
	s.state.pressure.Store(true)
	if a.o.Dyn.String(dynconfig.AlerterShedMode) == "dlq" {
		return true, true
	}
	// defer: leave the events on the ingest stream until the forwarder
	// catches up; nothing leaves the pipeline.
	a.m.shed.WithLabelValues("defer").Inc()
	sleepCtx(ctx, a.o.Dyn.Duration(dynconfig.AlerterDeferSleep))
	return false, false
}

func (a *Alerter) warnBacklog(depth int64) {
	// Since the start (monotonic), shifted so the first warning is not held.
	now := int64(time.Since(a.started) + backlogWarnEvery)
	last := a.lastBacklogWarn.Load()
	if now-last < int64(backlogWarnEvery) || !a.lastBacklogWarn.CompareAndSwap(last, now) {
		return
	}
	a.log.Warn("alert backlog above warning threshold", "backlog", depth,
		"warn_threshold", a.o.Dyn.Int(dynconfig.AlerterQueueWarnThreshold),
		"shed_threshold", a.o.Dyn.Int(dynconfig.AlerterQueueShedThreshold),
		"shed_mode", a.o.Dyn.String(dynconfig.AlerterShedMode))
}

// shed dead-letters a batch unevaluated (opt-in mode dlq).
func (s *shard) shed(ctx context.Context, c *stream.Consumer, entries []stream.Entry) {
	bctx, cancel := detach(ctx, shutdownGrace)
	defer cancel()
	msg := fmt.Sprintf("alert backlog %d above alerter_queue_shed_threshold %d",
		s.state.backlog.Load(), s.a.o.Dyn.Int(dynconfig.AlerterQueueShedThreshold))
	dls := make([]stream.DeadLetter, len(entries))
	for i, e := range entries {
		dls[i] = stream.DeadLetter{Entry: e, Reason: ReasonShed, Err: msg}
	}
	shed := eventsOf(dls)
	release := s.holdLease(bctx, c, entries)
	defer release()
	var failed bool
	if s.step(bctx, "shed", &failed, func(ctx context.Context) error { return c.DeadLetter(ctx, dls...) }) {
		s.a.m.shed.WithLabelValues("dlq").Add(float64(shed))
		s.a.o.Tally.Add(tally.AlerterDead, int64(shed))
		s.a.refreshDLQDepth(bctx)
	}
}

// item is one decoded event of a batch.
type item struct {
	entry stream.Entry // its Data is the event's own bytes
	part  bool         // the entry carries other events too
	env   event.Envelope
	id    uuid.UUID
	dec   rules.Decision
	alert []byte // the encoded alert when dec.Forward
	// rejected: PostgreSQL refused its audit row; it is dead-lettered instead.
	rejected bool
}

func ruleAlert(it *item) event.Alert {
	e, d := &it.env, &it.dec
	return event.Alert{
		EventID:       e.EventID,
		CorrelationID: e.CorrelationID,
		ReceivedAt:    e.ReceivedAt,
		EventTime:     e.Timestamp,
		Hostname:      e.Hostname,
		RuleID:        d.Rule.ID,
		Handling:      d.Handling,
		Environment:   d.Environment,
		Team:          d.Team,
		Severity:      e.Severity,
		Description:   e.Message,
		// Per host and rule, so Moogsoft neither merges unrelated alerts of
		// one host (the peer's signature was the host alone) nor splits one
		// condition into many.
		Signature: e.Hostname + ":rule:" + strconv.FormatInt(d.Rule.ID, 10),
		Original:  e.Original,
	}
}

// process runs one batch: decode, evaluate, count unmatched events, write the
// audit rows, add the alerts, dead-letter what cannot be processed, ack.
// Each step is retried with backoff while PostgreSQL or Redis is unavailable
// (the lease is kept meanwhile) and never repeated once done. If the shutdown
// grace runs out first, the rest of the batch stays unacknowledged: another
// alerter (or this one after a restart) reclaims it after the visibility
// timeout, and every step is idempotent or absorbed downstream.
func (s *shard) process(ctx context.Context, c *stream.Consumer, entries []stream.Entry) {
	start := time.Now()
	bctx, cancel := detach(ctx, shutdownGrace)
	defer cancel()
	release := s.holdLease(bctx, c, entries)
	defer release()

	eng := s.a.engine.Load()
	items, dead := s.a.prepare(eng, entries)
	events := len(items) + eventsOf(dead)
	s.a.m.batchSize.Observe(float64(events))
	s.perEntry.Store(int64(events) * 1000 / int64(max(len(entries), 1)))
	if !s.complete(bctx, c, eng, entries, items, dead) {
		s.log.Warn("shutdown grace ran out, leaving the batch unacknowledged for redelivery", "entries", len(entries))
		return
	}
	s.a.m.latency.Observe(time.Since(start).Seconds())
}

// complete runs the I/O steps of a prepared batch; false when ctx ended
// before they were all done.
func (s *shard) complete(ctx context.Context, c *stream.Consumer, eng *rules.Engine, entries []stream.Entry, items []item, dead []stream.DeadLetter) bool {
	a := s.a
	events := len(items) + eventsOf(dead)
	var failed bool
	// Counting the unhandled events (Redis) and writing the audit rows
	// (PostgreSQL) do not depend on each other, so they run at the same time:
	// the batch waits for the slower one instead of both in turn. Both end
	// before anything is added or acknowledged, as before.
	var (
		metas           []event.Alert
		metasOK         = true
		unhandledFailed bool
		counted         sync.WaitGroup
	)
	if hasUnmatched(items) {
		counted.Go(func() {
			metas, metasOK = retryStep(ctx, s, "unhandled", &unhandledFailed, func(ctx context.Context) ([]event.Alert, error) {
				return a.countUnhandled(ctx, eng, items)
			})
		})
	}
	rows := newAuditRows(items)
	rejected, ok := retryStep(ctx, s, "audit", &failed, func(ctx context.Context) ([]rejectedRow, error) {
		return a.writeAudit(ctx, rows)
	})
	counted.Wait()
	failed = failed || unhandledFailed
	if !ok || !metasOK {
		return false
	}
	// A rejected event is not forwarded: its dead letter is the record, and
	// replaying it after the fix produces the alert.
	for _, r := range rejected {
		it := &items[r.item]
		it.rejected, it.alert = true, nil
		dead = append(dead, stream.DeadLetter{Entry: it.entry, Part: it.part, Reason: ReasonAuditRejected, Err: r.err.Error()})
	}
	payloads := make([][]byte, 0, len(items)+len(metas))
	for i := range items {
		if items[i].alert != nil {
			payloads = append(payloads, items[i].alert)
		}
	}
	for i := range metas {
		payloads = append(payloads, metas[i].AppendJSON(nil))
	}
	// Dead letters first: they go to the DLQ, another Redis Cluster slot, and
	// acknowledge their own entries (an event dead-lettered alone out of an
	// entry of several leaves the entry to the ack below). Then the alerts
	// and the ack of the rest in one script on this shard's slot: one round
	// trip where there were two, and still nothing acknowledged before its
	// alerts are added (ADR 0039).
	if !s.step(ctx, "dead_letter", &failed, func(ctx context.Context) error {
		return c.DeadLetter(ctx, dead...)
	}) {
		return false
	}
	acks := toAck(entries, dead)
	handled, unhandled, ignored := 0, 0, 0
	for i := range items {
		it := &items[i]
		if it.rejected {
			continue
		}
		switch {
		case !it.dec.Matched:
			unhandled++
		case !it.dec.Forward:
			handled++
			ignored++
		default:
			handled++
		}
	}
	if !s.step(ctx, "ack", &failed, func(ctx context.Context) error {
		return c.AddAndAck(ctx, s.alertStream, payloads, acks...)
	}) {
		return false
	}
	a.m.processed.WithLabelValues(statusHandled).Add(float64(handled))
	a.m.processed.WithLabelValues(statusUnhandled).Add(float64(unhandled))
	a.m.processed.WithLabelValues(statusPoison).Add(float64(eventsOf(dead)))
	if failed {
		a.m.processed.WithLabelValues(statusError).Add(float64(events))
	}
	a.m.forwarded.Add(float64(len(payloads)))
	a.m.metaAlerts.Add(float64(len(metas)))
	t := a.o.Tally
	t.Add(tally.Matched, int64(handled))
	t.Add(tally.Audited, int64(rows.len()-len(rejected)))
	t.Add(tally.Ignored, int64(ignored))
	t.Add(tally.Unhandled, int64(unhandled))
	t.Add(tally.Alerts, int64(len(payloads)))
	t.Add(tally.AlerterDead, int64(eventsOf(dead)))
	if len(dead) > 0 {
		a.refreshDLQDepth(ctx)
	}
	return true
}

// eventsOf counts the events dead letters hold: one for a part, all of a
// whole entry's.
func eventsOf(dls []stream.DeadLetter) int {
	n := 0
	for _, d := range dls {
		if d.Part {
			n++
		} else {
			n += int(max(d.Events, 1))
		}
	}
	return n
}

// toAck are the batch's entries that its dead letters do not
// acknowledge themselves.
func toAck(entries []stream.Entry, dead []stream.DeadLetter) []stream.Entry {
	var gone map[string]bool
	for _, d := range dead {
		if !d.Part {
			if gone == nil {
				gone = make(map[string]bool, len(dead))
			}
			gone[d.ID] = true
		}
	}
	if gone == nil {
		return entries
	}
	out := make([]stream.Entry, 0, len(entries))
	for _, e := range entries {
		if !gone[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// hasUnmatched reports whether some item matched no rule (and so is counted
// toward an unhandled meta-alert).
func hasUnmatched(items []item) bool {
	for i := range items {
		if !items[i].dec.Matched {
			return true
		}
	}
	return false
}

// prepare decodes and evaluates a batch and encodes the rule alerts; what
// cannot be decoded comes back as dead letters. An entry is one envelope or
// a JSON array of several (one ingest request's, ADR 0048); an array with an
// element that does not decode is dead-lettered whole, as written.
func (a *Alerter) prepare(eng *rules.Engine, entries []stream.Entry) ([]item, []stream.DeadLetter) {
	// Sized for the events, not the entries: an entry may hold up to 100,
	// and an item is large enough that regrowing the slice shows in the
	// profile.
	n := 0
	for _, e := range entries {
		n += int(max(e.Events, 1))
	}
	items := make([]item, 0, n)
	var dead []stream.DeadLetter
	for _, e := range entries {
		start := jsonenc.SkipSpace(e.Data, 0)
		if start == len(e.Data) || e.Data[start] != '[' {
			if err := a.prepareOne(eng, &items, e, false); err != nil {
				dead = append(dead, stream.DeadLetter{Entry: e, Reason: ReasonDecodeError, Err: err.Error()})
			}
			continue
		}
		first := len(items)
		var err error
		arr := e.Data[start:]
		jsonenc.Elements(arr, func(i, at int) int {
			part := e // its Data becomes the event's own bytes
			part.Data = arr
			var end int
			if end, err = a.prepareAt(eng, &items, part, at); err != nil {
				err = fmt.Errorf("event %d of the entry: %w", i, err)
				return -1
			}
			return end
		})
		if err != nil {
			clear(items[first:])
			items = items[:first]
			dead = append(dead, stream.DeadLetter{Entry: e, Reason: ReasonDecodeError, Err: err.Error()})
		}
	}
	return items, dead
}

// prepareOne decodes and evaluates the event e carries and appends it to
// *items; on error *items is as before.
func (a *Alerter) prepareOne(eng *rules.Engine, items *[]item, e stream.Entry, part bool) error {
	*items = append(*items, item{entry: e, part: part})
	it := &(*items)[len(*items)-1]
	if err := decodeEnvelope(e.Data, &it.env, &it.id); err != nil {
		*it = item{}
		*items = (*items)[:len(*items)-1]
		return err
	}
	a.evaluate(eng, it)
	return nil
}

// prepareAt is prepareOne for the event at e.Data[at:], an element of an
// array entry; the item's entry holds the event's own bytes. It returns the
// offset just past the event.
func (a *Alerter) prepareAt(eng *rules.Engine, items *[]item, e stream.Entry, at int) (int, error) {
	*items = append(*items, item{entry: e, part: true})
	it := &(*items)[len(*items)-1]
	end, err := decodeEnvelopeAt(e.Data, at, &it.env, &it.id)
	if err != nil {
		*it = item{}
		*items = (*items)[:len(*items)-1]
		return end, err
	}
	it.entry.Data = e.Data[jsonenc.SkipSpace(e.Data, at):end]
	a.evaluate(eng, it)
	return end, nil
}

// evaluate runs the rules on a decoded item and encodes its alert.
func (a *Alerter) evaluate(eng *rules.Engine, it *item) {
	it.dec = eng.Evaluate(&it.env)
	if it.dec.Matched && !rules.KnownHandling(it.dec.Handling) {
		a.noteUnknownHandling(&it.dec)
	}
	if it.dec.Forward {
		al := ruleAlert(it)
		it.alert = al.AppendJSON(make([]byte, 0, len(it.entry.Data)+256))
	}
}

// retryStep runs fn until it succeeds, backing off between attempts; false
// when ctx ended first. *failed records that some attempt failed.
func retryStep[T any](ctx context.Context, s *shard, step string, failed *bool, fn func(context.Context) (T, error)) (T, bool) {
	var b backoff
	for {
		v, err := fn(ctx)
		if err == nil {
			if *failed {
				s.a.steps.ok(step)
			}
			return v, true
		}
		var zero T
		if ctx.Err() != nil {
			return zero, false
		}
		*failed = true
		s.a.steps.fail(step, err)
		s.a.m.retries.WithLabelValues(step).Inc()
		s.log.Warn("batch step failed, retrying", "step", step, "err", err)
		if !b.sleep(ctx) {
			return zero, false
		}
	}
}

// step is retryStep for a step that returns only an error.
func (s *shard) step(ctx context.Context, name string, failed *bool, fn func(context.Context) error) bool {
	_, ok := retryStep(ctx, s, name, failed, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return ok
}

// holdLease renews the lease on entries every third of the visibility
// timeout until release is called, so that while a batch waits for
// PostgreSQL or Redis no other alerter reclaims it and its delivery count
// does not climb.
func (s *shard) holdLease(ctx context.Context, c *stream.Consumer, entries []stream.Entry) (release func()) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(s.a.visibility() / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := c.Extend(ctx, ids...); err != nil {
				s.log.Debug("extend lease", "entries", len(ids), "err", err)
			}
			t.Reset(s.a.visibility() / 3)
		}
	})
	return func() { close(done); wg.Wait() }
}

// noteUnknownHandling counts a decision whose handling word is unknown and
// logs it once per rule, environment and word.
func (a *Alerter) noteUnknownHandling(d *rules.Decision) {
	a.m.unknownHandling.Inc()
	key := strconv.FormatInt(d.Rule.ID, 10) + "/" + d.Environment + "/" + d.Handling
	if _, seen := a.unknownLogged.LoadOrStore(key, struct{}{}); !seen {
		a.log.Warn("rule has an unknown handling word; matched events are audited but not forwarded",
			"rule_id", d.Rule.ID, "environment", d.Environment, "handling", d.Handling)
	}
}
