package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	cbackoff "github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
)

// Group is the consumer group of the forwarders on the alert stream.
const Group = "forwarder"

const (
	// maxDeliveries only catches crash loops (a forwarder that dies on an
	// entry again and again); failed attempts are counted by the forwarder.
	maxDeliveries = 20
	// drainTimeout bounds how long requests in flight may finish at shutdown.
	drainTimeout = 30 * time.Second
	// readBlock is how long one stream read waits for new alerts; it also
	// bounds how long a reader takes to notice shutdown.
	readBlock = 250 * time.Millisecond
	// housekeeping is the period of the breaker-state and DLQ-depth refresh.
	housekeeping = 2 * time.Second
	// ackLinger is how long a success waits for others to share its XACK.
	ackLinger = 2 * time.Millisecond
	// ackBatch acknowledges at once when this many finished entries are
	// waiting (up to stream.MaxPerEntry alerts each).
	ackBatch = 256
	// probeLeaseExtra is added to moog_timeout_ms for the probe's lease, so
	// the lease outlives the request it covers.
	probeLeaseExtra = 5 * time.Second
	// warnEvery rate-limits repeated warnings (an outage would log one per
	// request otherwise); the repeats go to debug.
	warnEvery = 10 * time.Second
)

// Options configure a Forwarder.
type Options struct {
	Redis         redis.UniversalClient // required
	Keys          keyspace.Keys         // required (keyspace.New)
	Dyn           *dynconfig.Store      // required; read per batch and per request
	Log           *slog.Logger
	Registerer    prometheus.Registerer // required
	StreamMetrics *stream.Metrics       // required; one per registry, shared with other stages
	Consumer      string                // consumer name; stream.ConsumerName("forwarder") when empty
	WebhookURL    string                // MOOG_WEBHOOK_URL, required
	APIKey        string                // MOOG_API_KEY; sent as a bearer token, never stored
	// APIKeyFunc, when set, replaces APIKey and is read for every request
	// (the secrets cache: a key rotated in the provider applies without a
	// restart). RefreshAPIKey re-reads its source: the forwarder calls it when
	// Moogsoft refuses the key (401, 403), at most every keyRefreshEvery, and
	// sends the request again once if the key changed.
	APIKeyFunc    func() string
	RefreshAPIKey func(context.Context) error
	Concurrency   int          // MUTT_FORWARDER_CONCURRENCY: requests in flight; 8
	HTTPClient    *http.Client // optional; redirects are never followed whatever it says
	// Tally, when set, counts Moogsoft outcomes, latency, deliveries, dead
	// letters and breaker trips for the live dashboard.
	Tally *tally.Recorder
}

// Forwarder delivers alerts from the alert stream to Moogsoft.
type Forwarder struct {
	rdb        redis.UniversalClient
	keys       keyspace.Keys
	dyn        *dynconfig.Store
	log        *slog.Logger
	m          *metrics
	sm         *stream.Metrics
	consumer   string
	url        string
	apiKey     func() string // sent as "Bearer <key>": never logged, never written to Redis
	refreshKey func(context.Context) error
	// epoch is when New ran; in-process gates are durations since it, so
	// they read the monotonic clock and a jump of the wall clock (NTP
	// stepping it, an operator's date -s) moves none of them (ADR 0045).
	epoch       time.Time
	refreshedAt atomic.Int64 // since epoch (ns, monotonic) at the last refreshKey call; 0 never
	concurrency int
	client      *http.Client
	breaker     *Breaker

	// control holds one consumer per shard for Ack, Extend and DeadLetter,
	// which may run concurrently with the shard's reader.
	control []*stream.Consumer
	hand    *hand
	acks    *acker

	cbState   atomic.Int32 // last breaker state seen (gauge value)
	cbRetryAt atomic.Int64 // since epoch (ns, monotonic) when an open breaker admits a probe
	probes    atomic.Uint64
	warns     throttle
	started   atomic.Bool
	tally     *tally.Recorder
}

// New validates the options and registers the metrics.
func New(o Options) (*Forwarder, error) {
	var errs []error
	if o.Redis == nil {
		errs = append(errs, errors.New("option Redis is required"))
	}
	if o.Keys.Shards < 1 || o.Keys.Prefix == "" {
		errs = append(errs, errors.New("option Keys is required (keyspace.New)"))
	}
	if o.Dyn == nil {
		errs = append(errs, errors.New("option Dyn is required"))
	}
	if o.Registerer == nil {
		errs = append(errs, errors.New("option Registerer is required"))
	}
	if o.StreamMetrics == nil {
		errs = append(errs, errors.New("option StreamMetrics is required"))
	}
	if u, err := url.Parse(o.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("MOOG_WEBHOOK_URL: %q is not an http(s) URL", o.WebhookURL))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("MUTT_FORWARDER_CONCURRENCY: %d is negative", o.Concurrency))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("forwarder options: %w", err)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Consumer == "" {
		o.Consumer = stream.ConsumerName("forwarder")
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	f := &Forwarder{
		rdb: o.Redis, keys: o.Keys, dyn: o.Dyn, m: m, sm: o.StreamMetrics,
		log:      o.Log.With("component", "forwarder", "consumer", o.Consumer),
		consumer: o.Consumer, url: o.WebhookURL, concurrency: o.Concurrency,
		client:  newHTTPClient(o.HTTPClient, o.Concurrency),
		breaker: NewBreaker(o.Redis, o.Keys.CircuitBreaker()),
		tally:   o.Tally,
		hand:    newHand(m.inflight, m.retrying),
		epoch:   time.Now(),
	}
	f.apiKey, f.refreshKey = o.APIKeyFunc, o.RefreshAPIKey
	if f.apiKey == nil {
		key := o.APIKey
		f.apiKey = func() string { return key }
	}
	if f.apiKey() == "" {
		f.log.Warn("MOOG_API_KEY is empty: requests carry no Authorization header")
	}
	for shard := range o.Keys.Shards {
		f.control = append(f.control, f.newConsumer(shard, 1))
	}
	f.acks = newAcker(f)
	return f, nil
}

func (f *Forwarder) newConsumer(shard int, count int64) *stream.Consumer {
	return stream.NewConsumer(f.rdb, stream.Options{
		Stream: f.keys.AlertStream(shard), Group: Group, Consumer: f.consumer, DeadLetter: f.keys.MoogDLQ(),
		Counter: stream.CounterKey(f.keys.AlertStream(shard)),
		Count:   count, Block: readBlock,
		Visibility:    f.visibility,
		MaxDeliveries: func() int64 { return maxDeliveries },
	}, f.log, f.sm)
}

func (f *Forwarder) visibility() time.Duration {
	return f.dyn.Duration(dynconfig.StreamVisibilityTimeout)
}

// Run delivers alerts until ctx ends, then drains: reading stops, requests in
// flight get up to 30 s to finish (their context is not ctx), what succeeded
// is acknowledged, and alerts still waiting (retry, rate limit, breaker) are
// left unacknowledged for another forwarder to reclaim after the visibility
// timeout. Run may be called once.
func (f *Forwarder) Run(ctx context.Context) error {
	if !f.started.CompareAndSwap(false, true) {
		return errors.New("forwarder: Run called twice")
	}
	f.log.Info("forwarder starting", "shards", len(f.control), "concurrency", f.concurrency)
	// bg outlives ctx for the drain; send is cancelled only if the drain
	// runs out of time.
	bg := context.WithoutCancel(ctx)
	send, cancelSend := context.WithCancel(bg)
	defer cancelSend()
	house, stopHouse := context.WithCancel(bg)
	defer stopHouse()

	var readers, workers, helpers sync.WaitGroup
	for shard := range f.control {
		readers.Go(func() { f.read(ctx, shard) })
	}
	for range f.concurrency {
		workers.Go(func() { f.work(ctx, send) })
	}
	helpers.Go(func() { f.acks.run(house) })
	helpers.Go(func() { f.extendLeases(house) })
	helpers.Go(func() { f.refresh(house) })

	<-ctx.Done()
	f.hand.wake()
	readers.Wait()
	drained := make(chan struct{})
	go func() { workers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		f.log.Warn("requests still in flight after the drain timeout, abandoning them", "timeout", drainTimeout)
		cancelSend()
		<-drained
	}
	stopHouse()
	helpers.Wait()
	f.acks.flushFinal(bg)

	cctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	for _, c := range f.control {
		if err := c.Close(cctx); err != nil {
			f.log.Warn("leave consumer group", "stream", c.Stream(), "err", err)
		}
	}
	f.log.Info("forwarder stopped", "left_unacknowledged", f.hand.size())
	return nil
}

// read is the reader of one shard: it keeps the hand supplied while there is
// room and the breaker lets traffic through.
func (f *Forwarder) read(ctx context.Context, shard int) {
	bg := context.WithoutCancel(ctx) // a read in progress completes: its entries are then held, not orphaned
	ctl := f.control[shard]
	var c *stream.Consumer
	var count int64
	// perEntry is the alerts per entry of the last read, in thousandths
	// (as stream.ReadCount takes it). Until a read says otherwise, entries
	// are taken to be full: a first read of a backlog then brings about
	// forwarder_batch_size alerts, not up to stream.MaxPerEntry times as
	// many (a backlog of single alerts is read a hundredth of the batch at
	// a time once, then as it is).
	perEntry := int64(stream.MaxPerEntry * 1000)
	ensured := false
	pause := newPause(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		if !ensured {
			if err := ctl.EnsureGroup(bg); err != nil {
				f.warn("create consumer group, will retry", "stream", ctl.Stream(), "err", err)
				pause.wait(ctx)
				continue
			}
			ensured = true
		}
		if f.readBlocked() {
			f.waitChange(ctx, f.hand.wakeChan(), 250*time.Millisecond)
			continue
		}
		// The batch size is dynamic: a new value takes effect at the next
		// read, of about that many alerts at the last read's alerts per
		// entry (stream.ReadCount).
		n := max(f.dyn.Int(dynconfig.ForwarderBatchSize), 1)
		if c == nil || n != count {
			c, count = f.newConsumer(shard, n), n
		}
		c.SetCount(stream.ReadCount(n, perEntry))
		// Room for one read per shard plus one batch: with a fixed 2n,
		// two shards' blocking reads held all of it and the readers of
		// the other shards starved (4 shards: half the alerts never read).
		ok, ch := f.hand.reserve(int(n), int(n)*(len(f.control)+1))
		if !ok {
			f.waitChange(ctx, ch, time.Second)
			continue
		}
		entries, err := c.Read(bg)
		if err != nil {
			f.hand.unreserve(int(n))
			f.warn("read alerts, will retry", "stream", c.Stream(), "err", err)
			pause.wait(ctx)
			continue
		}
		pause.reset()
		if pe := f.accept(bg, shard, entries); pe > 0 {
			perEntry = pe
		}
		f.hand.unreserve(int(n))
	}
}

// mono is the time since New on the monotonic clock: what every in-process
// gate of the forwarder compares, never wall-clock nanoseconds.
func (f *Forwarder) mono() time.Duration { return time.Since(f.epoch) }

// readBlocked: while the breaker is not closed, alerts wait in the stream.
// The exception is a probe that is due while this forwarder holds no alert
// that was never sent: it reads so that the probe need not be an alert that
// failed before. One failing for reasons of its own (a payload Moogsoft
// answers 500 to) would otherwise keep the breaker open while the others
// wait in the stream.
func (f *Forwarder) readBlocked() bool {
	if f.cbState.Load() == 0 {
		return false
	}
	return f.mono() < time.Duration(f.cbRetryAt.Load()) || f.hand.hasUntried()
}

// accept decodes entries into held alerts; undecodable ones are dead-lettered.
// An entry is one alert or a JSON array of several (ADR 0049); an array with
// an element that does not decode is dead-lettered whole, as written (its
// writer is MUTT's own alerter, so it is corrupt). It returns the alerts
// per entry of the read, in thousandths, for sizing the next read.
func (f *Forwarder) accept(ctx context.Context, shard int, entries []stream.Entry) int64 {
	if len(entries) == 0 {
		return 0
	}
	// The strings and the payloads of a read share a few buffers rather
	// than taking several allocations per alert: the alerts of a read are
	// sent and acknowledged together, mostly. One that must wait for a
	// retry gets its own copies (item.detach), so it does not keep the
	// buffers of a whole read alive. A buffer short of room for the next
	// alert is not grown (copied): a new one is sized for the rest of the
	// read.
	rest, alerts := 0, 0 // bytes of the entries not decoded yet; alerts of the read
	for _, e := range entries {
		rest += len(e.Data)
		alerts += int(max(e.Events, 1))
	}
	var d decoder
	var buf []byte
	its := make([]*item, 0, alerts)
	var bad []stream.DeadLetter
	var a event.Alert
	// one decodes the alert at e.Data[at:] (the whole entry when part < 0),
	// at most n bytes, with left alerts still to decode in the read, and
	// returns where it ended.
	one := func(e stream.Entry, part, at, n, left int) (int, error) {
		d.reserve(n, rest/stringShare)
		if cap(buf)-len(buf) < n+payloadExtra {
			buf = make([]byte, 0, rest+left*payloadExtra)
		}
		a = event.Alert{}
		end, err := len(e.Data), error(nil)
		if part < 0 {
			err = d.decode(e.Data, &a)
		} else {
			end, err = d.decodeAt(e.Data, at, &a)
		}
		rest -= end - at
		if err == nil && a.EventID == "" {
			err = errors.New("alert has no event_id")
		}
		if err != nil {
			return end, err
		}
		data := e.Data[at:end]
		part = max(part, 0)
		start := len(buf)
		buf = appendEvent(buf, &a, true)
		its = append(its, &item{
			shard: shard, id: e.ID, part: part, of: e.Events, data: data, deliveries: e.Deliveries, replays: e.Replays,
			eventID: a.EventID, correlationID: a.CorrelationID, receivedAt: a.ReceivedAt,
			payload: buf[start:len(buf):len(buf)], // full: an append can never write into the next one
		})
		return end, nil
	}
	left := alerts
	for _, e := range entries {
		start := jsonenc.SkipSpace(e.Data, 0)
		if start == len(e.Data) || e.Data[start] != '[' {
			if _, err := one(e, -1, 0, len(e.Data), left); err != nil {
				bad = append(bad, stream.DeadLetter{Entry: e, Reason: "decode_error",
					Err: fmt.Sprintf("decode alert: %v", err)})
			}
			left--
			continue
		}
		first := len(its)
		var err error
		in := e // its alerts are slices of the array
		in.Data = e.Data[start:]
		jsonenc.Elements(in.Data, func(i, at int) int {
			var end int
			if end, err = one(in, i, at, len(in.Data)-at, left-i); err != nil {
				err = fmt.Errorf("alert %d of the entry: %w", i, err)
				return -1
			}
			return end
		})
		left -= int(max(e.Events, 1))
		if err != nil {
			clear(its[first:])
			its = its[:first]
			bad = append(bad, stream.DeadLetter{Entry: e, Reason: "decode_error",
				Err: fmt.Sprintf("decode alert: %v", err)})
		}
	}
	if len(bad) > 0 {
		if err := f.control[shard].DeadLetter(ctx, bad...); err != nil {
			// Still pending: reclaimed and dead-lettered again later.
			f.log.Error("dead-letter undecodable alerts", "count", len(bad), "err", err)
		} else {
			n := 0
			for _, b := range bad {
				n += int(max(b.Events, 1))
			}
			f.m.procDLQ.Add(float64(n))
			f.tally.Add(tally.MoogDead, int64(n))
		}
	}
	f.hand.add(its)
	return int64(alerts) * 1000 / int64(len(entries))
}

// work is one request slot: it takes what is due, asks the breaker and the
// rate limit, sends, and files the alerts by the answer.
func (f *Forwarder) work(ctx, send context.Context) {
	for ctx.Err() == nil {
		size := max(f.dyn.Int(dynconfig.MoogBatchSize), 1)
		batched := size > 1
		if rate := f.dyn.Int(dynconfig.MoogRateLimit); rate > 0 && size > rate {
			size = rate // a request larger than the burst could never pass
		}
		its, wait, ch := f.hand.take(int(size), time.Now())
		if len(its) == 0 {
			f.waitChange(ctx, ch, wait)
			continue
		}
		f.deliver(ctx, send, its, batched)
	}
}

// waitChange waits for ch, ctx or d (d < 0: no limit).
func (f *Forwarder) waitChange(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-ch:
	case <-timeout:
	}
}

func (f *Forwarder) deliver(ctx, send context.Context, its []*item, batched bool) {
	timeout := f.dyn.Duration(dynconfig.MoogTimeout)
	token := probeToken(f.consumer, f.probes.Add(1))
	acq, pre, err := f.admit(ctx, timeout+probeLeaseExtra, token, int64(len(its)))
	if err != nil {
		f.hand.putBack(its)
		if ctx.Err() == nil {
			f.warn("circuit breaker unavailable, holding alerts", "err", err)
			f.hand.holdFor(time.Second)
		}
		return
	}
	f.m.setBreakerFailures(acq.Failures)
	switch acq.Decision {
	case Wait:
		if acq.Held {
			// Moogsoft's Retry-After runs: no request, no retry used up.
			f.hand.putBack(its)
			f.hand.holdFor(max(acq.Wait, time.Millisecond))
			return
		}
		f.m.fail(reasonCircuitOpen)
		f.observe(acq.State, acq.Wait)
		f.hand.putBack(its)
		poll := time.Second
		if acq.State == StateHalfOpen {
			poll = 250 * time.Millisecond // the probe may close it any moment
		}
		f.hand.holdFor(max(min(acq.Wait, poll), time.Millisecond))
		return
	case Probe:
		f.observe(StateHalfOpen, 0)
		its = []*item{f.hand.probeFrom(its)}
		f.log.Info("circuit breaker half-open: sending the probe", "event_id", its[0].eventID)
	default:
		token = ""
		f.observe(StateClosed, 0)
	}

	for {
		res, err := ratelimit.Result{}, error(nil)
		if pre != nil {
			res, pre = *pre, nil // taken with the breaker's answer
		} else {
			res, err = ratelimit.Allow(ctx, f.rdb, f.keys.MoogRateLimit(), f.moogLimit(), int64(len(its)))
		}
		if err != nil {
			f.releaseProbe(send, token)
			f.hand.putBack(its)
			if ctx.Err() == nil {
				f.warn("rate limit unavailable, holding alerts", "err", err)
				f.hand.holdFor(time.Second)
			}
			return
		}
		if res.Impossible && len(its) > 1 {
			// The limit shrank below this request's size since it was taken.
			half := len(its) / 2
			f.hand.putBack(its[half:])
			its = its[:half]
			continue
		}
		if !res.Allowed {
			// Wait for the limit, never drop: the alerts go back to the
			// front and every request slot pauses until the limit has room.
			f.m.rateLimitHits.Inc()
			f.releaseProbe(send, token)
			f.hand.putBack(its)
			f.hand.holdFor(max(res.RetryAfter, time.Millisecond))
			return
		}
		break
	}

	f.hand.sending(its)
	f.m.batchSize.Observe(float64(len(its)))
	payloads := make([][]byte, len(its))
	for i, it := range its {
		payloads[i] = it.payload
	}
	o := f.post(send, bodyParts(make([][]byte, 0, 2*len(its)+1), payloads, batched), timeout)
	if o.class != aborted {
		f.m.latency.Observe(o.latency.Seconds())
		f.tally.Add(tally.MoogLatencyMS, o.latency.Milliseconds())
		if o.class == delivered {
			f.tally.Add(tally.MoogOK, 1)
		} else {
			f.tally.Add(tally.MoogFailed, 1)
		}
	}
	switch o.class {
	case delivered:
		f.m.reqSuccess.Inc()
		f.recordBreaker(send, Success, token, acq.Failures)
		f.delivered(its)
	case rejected:
		f.m.fail(o.reason)
		f.recordBreaker(send, Success, token, acq.Failures) // Moogsoft is up: it answered
		if len(its) > 1 && splittable(o.status) {
			// Find the culprit: send each of these alone.
			for _, it := range its {
				it.solo = true
			}
			f.hand.putBack(its)
			return
		}
		f.reject(send, its, o)
	case retryable:
		if o.retryAfter > 0 {
			// Before the metric, so whoever sees the failure sees the hold.
			f.holdRetryAfter(send, o.retryAfter)
		}
		f.m.fail(o.reason)
		f.recordBreaker(send, Failure, token, acq.Failures)
		if token != "" {
			// A failed probe reopened the breaker: Moogsoft is still
			// failing. Like time spent open, it consumes no retry; the
			// alert waits for the breaker with the others.
			its[0].lastStatus, its[0].lastErr = o.status, o.err
			f.hand.putBack(its)
			return
		}
		f.retry(send, its, o)
	case aborted:
		f.releaseProbe(send, token)
		f.hand.putBack(its)
	}
}

func (f *Forwarder) moogLimit() ratelimit.Limit {
	return ratelimit.Limit{Rate: f.dyn.Int(dynconfig.MoogRateLimit), Period: f.dyn.Duration(dynconfig.MoogRatePeriod)}
}

// admit asks the breaker whether a request of qty alerts may be sent (lease:
// the probe's, if granted). While the breaker was last seen closed it also
// takes the request's rate-limit units in the same round trip — pipelined,
// not one script: the two keys may live on different Redis Cluster nodes —
// and returns that answer as pre when the breaker says Send (nil otherwise:
// the caller asks the limit itself). Units taken for a request the breaker
// then stopped are not given back: the limit errs on the slow side, and only
// when the breaker changed since this forwarder last looked (ADR 0045).
func (f *Forwarder) admit(ctx context.Context, lease time.Duration, token string, qty int64) (Acquired, *ratelimit.Result, error) {
	open := f.dyn.Duration(dynconfig.CircuitBreakerTimeout)
	lim := f.moogLimit()
	if f.cbState.Load() != 0 || lim.Rate <= 0 || qty > lim.Rate {
		// Nothing to share a round trip with: no limit, a request the limit
		// answers without Redis, or a breaker that is likely to say Wait.
		acq, err := f.breaker.Acquire(ctx, open, lease, token)
		return acq, nil, err
	}
	pipe := f.rdb.Pipeline()
	acmd := f.breaker.queueAcquire(ctx, pipe, open, lease, token)
	pending := ratelimit.Queue(ctx, pipe, f.keys.MoogRateLimit(), lim, qty)
	_, _ = pipe.Exec(ctx) // each command's own error is read below
	acq, err := parseAcquired(acmd)
	if ratelimit.IsNoScript(err) {
		acq, err = f.breaker.Acquire(ctx, open, lease, token) // loads the script
	}
	if err != nil || acq.Decision != Send {
		return acq, nil, err
	}
	res, err := pending.Result()
	if err != nil {
		return acq, nil, nil // NOSCRIPT or Redis: the caller's Allow retries or reports it
	}
	return acq, &res, nil
}

// holdRetryAfter honours Moogsoft's Retry-After: it asks a client to wait
// before its next request, so every forwarder holds every alert (fresh ones
// too) until it has elapsed, not only the alerts of the refused request
// (ADR 0040). The hold is kept in the shared breaker on Redis's clock; this
// forwarder also holds locally, which covers Redis being unreachable.
func (f *Forwarder) holdRetryAfter(ctx context.Context, d time.Duration) {
	left, err := f.breaker.Hold(ctx, d)
	if err != nil {
		f.warn("record Moogsoft's Retry-After for every forwarder", "err", err)
		left = d
	}
	f.hand.holdFor(left)
}

// recordBreaker reports an outcome to the shared breaker. A success while the
// breaker was closed with no failures counted changes nothing and is skipped,
// which saves a round trip per request in the normal case.
func (f *Forwarder) recordBreaker(ctx context.Context, o Outcome, token string, failures int64) {
	if o == Success && token == "" && failures == 0 {
		return
	}
	state, tripped, err := f.breaker.Record(ctx, o, f.dyn.Int(dynconfig.CircuitBreakerThreshold), token)
	if err != nil {
		f.warn("record request outcome in circuit breaker", "outcome", string(o), "err", err)
		return
	}
	if tripped {
		f.m.cbTrips.Inc()
		f.tally.Add(tally.BreakerTrips, 1)
		f.breakerHistory(ctx, StateOpen)
		f.log.Warn("circuit breaker opened: Moogsoft keeps failing; alerts wait in the stream",
			"threshold", f.dyn.Int(dynconfig.CircuitBreakerThreshold), "timeout", f.dyn.Duration(dynconfig.CircuitBreakerTimeout))
	}
	if token != "" && o == Success && state == StateClosed {
		f.breakerHistory(ctx, StateClosed) // this probe closed it
	}
	wait := time.Duration(0)
	if state == StateOpen {
		wait = f.dyn.Duration(dynconfig.CircuitBreakerTimeout)
	}
	f.observe(state, wait)
}

// breakerHistoryLen bounds the breaker's transition history (approximately).
const breakerHistoryLen = 200

// breakerHistory records a transition the shared breaker made on this
// forwarder's request (a trip, or the probe that closed it) for the
// dashboard. Best effort: the breaker itself is in Redis already.
func (f *Forwarder) breakerHistory(ctx context.Context, state string) {
	err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: f.keys.BreakerHistory(), MaxLen: breakerHistoryLen, Approx: true,
		Values: []any{"state", state, "at", time.Now().UTC().Format(time.RFC3339Nano), "consumer", f.consumer}}).Err()
	if err != nil {
		f.warn("record circuit breaker history", "err", err)
	}
}

func (f *Forwarder) releaseProbe(ctx context.Context, token string) {
	if token == "" {
		return
	}
	if _, _, err := f.breaker.Record(ctx, Release, f.dyn.Int(dynconfig.CircuitBreakerThreshold), token); err != nil {
		// The probe lease runs out by itself.
		f.warn("release circuit breaker probe", "err", err)
	}
}

// observe takes note of the breaker state seen in Redis: gauge, the readers'
// gate, and the end of any hold when it closed.
func (f *Forwarder) observe(state string, wait time.Duration) {
	v := int32(stateValue(state))
	f.m.cbState.Set(float64(v))
	f.m.cbStatePython.Set(pythonBreakerState(v))
	if v != 0 {
		f.cbRetryAt.Store(int64(f.mono() + wait))
	}
	prev := f.cbState.Swap(v)
	if prev == v {
		return
	}
	f.m.cbChangesPython.WithLabelValues(pythonStateName(prev), pythonStateName(v)).Inc()
	f.log.Info("circuit breaker state", "state", state)
	if v == 0 {
		f.hand.release()
	} else {
		f.hand.wake()
	}
}

func (f *Forwarder) delivered(its []*item) {
	now := time.Now()
	for _, it := range its {
		if !it.receivedAt.IsZero() {
			f.m.endToEnd.Observe(now.Sub(it.receivedAt).Seconds())
		}
	}
	f.m.procSuccess.Add(float64(len(its)))
	f.tally.Add(tally.Delivered, int64(len(its)))
	f.acks.add(f.hand.done(its, true))
}

func (f *Forwarder) reject(ctx context.Context, its []*item, o outcome) {
	extra := map[string]string{"status": strconv.Itoa(o.status), "body": o.body}
	dls := make([]stream.DeadLetter, len(its))
	msg := o.err
	if o.body != "" {
		msg += ": " + o.body
	}
	for i, it := range its {
		dls[i] = f.deadLetter(it, "moog_rejected", msg, int64(it.failures+1), extra)
	}
	f.deadLetterAll(ctx, its, dls)
}

// retryBound is how many alerts a forwarder may hold waiting for a retry,
// on top of the 2 × forwarder_batch_size it reads ahead.
func (f *Forwarder) retryBound() int {
	return int(2 * max(f.dyn.Int(dynconfig.ForwarderBatchSize), 1))
}

func (f *Forwarder) retry(ctx context.Context, its []*item, o outcome) {
	maxRetries := int(f.dyn.Int(dynconfig.MoogMaxRetries))
	base, maxDelay := f.dyn.Duration(dynconfig.MoogRetryBaseDelay), f.dyn.Duration(dynconfig.MoogRetryMaxDelay)
	bound := f.retryBound()
	now := time.Now()
	var exhausted []*item
	var dls []stream.DeadLetter
	giveUp := func(it *item, reason, msg string) {
		extra := map[string]string{"last_reason": o.reason}
		if o.status != 0 {
			extra["status"] = strconv.Itoa(o.status)
			extra["body"] = o.body
		}
		exhausted = append(exhausted, it)
		dls = append(dls, f.deadLetter(it, reason, msg, int64(it.failures), extra))
	}
	for _, it := range its {
		it.failures++
		it.lastStatus, it.lastErr = o.status, o.err
		if it.failures > maxRetries {
			giveUp(it, "retry_exhausted", fmt.Sprintf("gave up after %d attempts; last: %s", it.failures, o.err))
			continue
		}
		it.detach()
		it.due = now.Add(max(backoff(it.failures, base, maxDelay, rand.Int64N), o.retryAfter))
		if !f.hand.scheduleRetry(it, bound) {
			// Holding it would stop reading, or grow without bound: the
			// others must keep flowing (ADR 0007).
			giveUp(it, "retry_overflow", fmt.Sprintf(
				"not retried: %d alerts already wait for a retry on this forwarder (2 × forwarder_batch_size); last: %s",
				bound, o.err))
			continue
		}
		f.m.procRetry.Inc()
		f.log.Debug("alert will be retried", "event_id", it.eventID, "correlation_id", it.correlationID,
			"attempt", it.failures, "reason", o.reason, "status", o.status, "after", it.due.Sub(now))
	}
	f.warn("Moogsoft request failed, alerts will be retried", "reason", o.reason, "status", o.status,
		"err", o.err, "alerts", len(its))
	f.deadLetterAll(ctx, exhausted, dls)
}

func (f *Forwarder) deadLetter(it *item, reason, msg string, attempts int64, extra map[string]string) stream.DeadLetter {
	f.log.Warn("alert dead-lettered", "event_id", it.eventID, "correlation_id", it.correlationID,
		"reason", reason, "err", msg)
	// Always a part: the dead letter holds this alert alone, and its entry,
	// which may hold others (ADR 0049), is acknowledged once all are done.
	return stream.DeadLetter{
		Entry: stream.Entry{ID: it.id, Stream: f.keys.AlertStream(it.shard), Data: it.data,
			Deliveries: it.deliveries, Replays: it.replays},
		Reason: reason, Err: msg, Attempts: attempts, Extra: extra, Part: true,
	}
}

// deadLetterAll writes dls (dls[i] is the dead letter of its[i]) per shard;
// the entries are acknowledged once their other alerts are done too. If
// Redis refuses, the alerts are let go and their entries left
// unacknowledged: their leases lapse and a reader reclaims them, so they are
// tried (and rejected) again rather than lost.
func (f *Forwarder) deadLetterAll(ctx context.Context, its []*item, dls []stream.DeadLetter) {
	if len(its) == 0 {
		return
	}
	byShard := make(map[int][]int)
	for i, it := range its {
		byShard[it.shard] = append(byShard[it.shard], i)
	}
	for shard, idx := range byShard {
		ds, group := make([]stream.DeadLetter, len(idx)), make([]*item, len(idx))
		for j, i := range idx {
			ds[j], group[j] = dls[i], its[i]
		}
		if err := f.control[shard].DeadLetter(ctx, ds...); err != nil {
			f.log.Error("dead-letter alerts; they will be reclaimed and tried again", "count", len(ds), "err", err)
			f.hand.done(group, false)
			continue
		}
		f.m.procDLQ.Add(float64(len(ds)))
		f.tally.Add(tally.MoogDead, int64(len(ds)))
		f.acks.add(f.hand.done(group, true))
	}
}

// extendLeases keeps every held alert's lease so no other forwarder reclaims
// it, every visibility/3 (read each time: it is dynamic).
func (f *Forwarder) extendLeases(ctx context.Context) {
	for {
		t := time.NewTimer(max(f.visibility()/3, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for shard, ids := range f.hand.ids() {
			for start := 0; start < len(ids); start += 1000 {
				chunk := ids[start:min(start+1000, len(ids))]
				if err := f.control[shard].Extend(ctx, chunk...); err != nil && ctx.Err() == nil {
					f.warn("extend leases of held alerts", "count", len(chunk), "err", err)
				}
			}
		}
	}
}

// refresh keeps the breaker gauge and the DLQ depth current even when no
// request is made.
func (f *Forwarder) refresh(ctx context.Context) {
	t := time.NewTicker(housekeeping)
	defer t.Stop()
	for {
		if state, wait, err := f.breaker.Peek(ctx, f.dyn.Duration(dynconfig.CircuitBreakerTimeout)); err == nil {
			f.observe(state, wait)
		} else if ctx.Err() == nil {
			f.warn("read circuit breaker state", "err", err)
		}
		if n, err := f.rdb.XLen(ctx, f.keys.MoogDLQ()).Result(); err == nil {
			f.m.dlqDepth.Set(float64(n))
		} else if ctx.Err() == nil {
			f.warn("read Moogsoft DLQ depth", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// acker acknowledges finished entries in batches: one XACK+XDEL per shard
// for everything that finished within ackLinger, instead of one per entry.
type acker struct {
	f       *Forwarder
	mu      sync.Mutex
	pending []finished
	kick    chan struct{}
}

func newAcker(f *Forwarder) *acker { return &acker{f: f, kick: make(chan struct{}, 1)} }

func (a *acker) add(fs []finished) {
	if len(fs) == 0 {
		return
	}
	a.mu.Lock()
	a.pending = append(a.pending, fs...)
	n := len(a.pending)
	a.mu.Unlock()
	if n == len(fs) || n >= ackBatch {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

func (a *acker) run(ctx context.Context) {
	pause := newPause(50*time.Millisecond, time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		a.mu.Lock()
		n := len(a.pending)
		a.mu.Unlock()
		if n < ackBatch {
			t := time.NewTimer(ackLinger)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		if a.flush(ctx) {
			pause.reset()
			continue
		}
		pause.wait(ctx)
		select { // try again
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// flush acknowledges everything pending; entries it could not acknowledge
// stay pending (and held, so their leases are kept). It reports success.
func (a *acker) flush(ctx context.Context) bool {
	a.mu.Lock()
	fs := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(fs) == 0 {
		return true
	}
	byShard := make(map[int][]finished)
	for _, f := range fs {
		byShard[f.shard] = append(byShard[f.shard], f)
	}
	ok := true
	for shard, group := range byShard {
		entries := make([]stream.Entry, len(group))
		for i, f := range group {
			entries[i] = f.entry
		}
		if err := a.f.control[shard].AckEntries(ctx, entries...); err != nil {
			ok = false
			if ctx.Err() == nil {
				a.f.warn("acknowledge delivered alerts, will retry", "entries", len(entries), "err", err)
			}
			a.mu.Lock()
			a.pending = append(a.pending, group...)
			a.mu.Unlock()
			continue
		}
		a.f.hand.forget(group)
	}
	return ok
}

// flushFinal acknowledges what is left at shutdown, trying for a few seconds.
// What still fails stays pending: it is redelivered, and Moogsoft deduplicates
// it by external_id.
func (a *acker) flushFinal(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pause := newPause(50*time.Millisecond, time.Second)
	for !a.flush(ctx) && ctx.Err() == nil {
		pause.wait(ctx)
	}
}

// warn logs msg at warn level at most once per warnEvery, else at debug.
func (f *Forwarder) warn(msg string, args ...any) {
	if f.warns.allow(msg, time.Now()) {
		f.log.Warn(msg, args...)
	} else {
		f.log.Debug(msg, args...)
	}
}

type throttle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = make(map[string]time.Time)
	}
	if now.Sub(t.last[key]) < warnEvery {
		return false
	}
	t.last[key] = now
	return true
}

// pause is a capped exponential backoff for retrying Redis operations: lo,
// doubling up to hi, no jitter (each forwarder has its own Redis errors).
type pause struct{ b *cbackoff.ExponentialBackOff }

func newPause(lo, hi time.Duration) *pause {
	return &pause{b: cbackoff.NewExponentialBackOff(
		cbackoff.WithInitialInterval(lo),
		cbackoff.WithMaxInterval(hi),
		cbackoff.WithMultiplier(2),
		cbackoff.WithRandomizationFactor(0),
		cbackoff.WithMaxElapsedTime(0),
	)}
}

func (p *pause) reset() { p.b.Reset() }

func (p *pause) wait(ctx context.Context) {
	t := time.NewTimer(p.b.NextBackOff())
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
