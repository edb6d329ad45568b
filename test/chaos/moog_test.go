package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/forward"
	"github.com/mutt-ops/mutt/internal/dynconfig"
)

// moogTimeout is the forwarders' moog_timeout_ms in the Moogsoft chaos run.
const moogTimeout = 2 * time.Second

// retryAfterGrace: a request arriving this soon after a Retry-After answer
// was in flight before the forwarders could know of it (sent earlier, or
// admitted by the breaker just before the hold was recorded), so it does not
// count as ignoring the header. Generous: the machine is shared and loaded.
const retryAfterGrace = time.Second

// moogMode is one way the Moogsoft webhook fails.
type moogMode struct {
	name   string
	inject func(c *cluster)
	heal   func(c *cluster)
	// trips: the breaker must open during the stretch or its recovery
	// (slow answers that still come within the timeout are successes).
	trips bool
	// retryAfter: the answers carry a Retry-After the forwarders must honour.
	retryAfter bool
	// duplicates: Moogsoft processed requests the forwarders saw fail, so
	// their retries must show up as duplicates.
	duplicates bool
}

// moogModes are the five failures of issue 14: 500s, timeouts (Moogsoft
// processes the request but answers after the forwarder's timeout, so the
// retry is a duplicate), 429 with Retry-After, slow answers, connection
// refused (the listener closed).
func moogModes(retryAfter int) []moogMode {
	heal := func(c *cluster) { c.sim.Heal() }
	return []moogMode{
		{name: "HTTP 500", inject: func(c *cluster) { c.sim.Fail(http.StatusInternalServerError, -1) }, heal: heal, trips: true},
		{name: fmt.Sprintf("timeouts (answers after %s, moog_timeout_ms %s)", 5*moogTimeout/2, moogTimeout),
			inject: func(c *cluster) { c.sim.RecordLate(true); c.sim.Delay(5 * moogTimeout / 2) }, heal: heal,
			trips: true, duplicates: true},
		{name: fmt.Sprintf("HTTP 429 with Retry-After: %d", retryAfter), inject: func(c *cluster) {
			c.sim.RetryAfter(retryAfter)
			c.sim.Fail(http.StatusTooManyRequests, -1)
		}, heal: heal, retryAfter: true},
		{name: fmt.Sprintf("slow answers (%s, within the timeout)", moogTimeout/4),
			inject: func(c *cluster) { c.sim.Delay(moogTimeout / 4) }, heal: heal},
		{name: "connection refused (listener closed)", inject: func(c *cluster) { c.stopSim() },
			heal: func(c *cluster) { c.startSim() }, trips: true},
	}
}

// moogPlan sizes the Moogsoft run: the short profile cycles through every
// mode in one phase (a few seconds each, so `go test ./...` pays about a
// minute); the full one gives each mode its own phase of two minutes, ten
// minutes of failure in all (issue 14).
type moogPlan struct {
	stretch    time.Duration // of each failure
	recovery   time.Duration // load continues this long after each heal
	retryAfter int           // seconds, sent with the 429s
	oneCycle   bool          // every mode in one phase
}

func chosenMoogPlan(p profile) moogPlan {
	if p.name == "full" {
		return moogPlan{stretch: 2 * time.Minute, recovery: 15 * time.Second, retryAfter: 5}
	}
	return moogPlan{stretch: 3 * time.Second, recovery: 2 * time.Second, retryAfter: 3, oneCycle: true}
}

// TestChaosMoogsoftOutages fails the Moogsoft webhook in each of five ways
// while load continues, then lets it recover, and reconciles every accepted
// event: delivered at least once (duplicates reported: expected after
// timeouts) or dead-lettered with a reason, nothing lost. It also checks the
// shared circuit breaker opened and closed again (Redis state) and, at the
// simulator, that no request came while a Retry-After was running.
func TestChaosMoogsoftOutages(t *testing.T) {
	p := chosenProfile(t)
	plan := chosenMoogPlan(p)
	c := newCluster(t, p, clusterOptions{AppendFsync: "always"})
	ctx := context.Background()
	for k, v := range map[string]string{
		"moog_timeout_ms":           strconv.FormatInt(moogTimeout.Milliseconds(), 10),
		"circuit_breaker_threshold": "10",
		"circuit_breaker_timeout":   "2",
		"moog_retry_base_delay_ms":  "200",
		"moog_retry_max_delay_ms":   "5000",
	} {
		require.NoError(t, dynconfig.Set(ctx, c.rdb, c.keys, k, v))
	}
	modes := moogModes(plan.retryAfter)
	if plan.oneCycle {
		c.moogPhase("Moogsoft failing in turn: 500, timeouts, 429, slow, refused", plan, modes)
	} else {
		for _, m := range modes {
			c.moogPhase("Moogsoft "+m.name, plan, []moogMode{m})
		}
	}
	c.report()
}

// moogPhase runs one phase in which modes fail the webhook one after the
// other, each for the plan's stretch followed by its recovery.
func (c *cluster) moogPhase(name string, plan moogPlan, modes []moogMode) {
	t := c.t
	t.Helper()
	ctx := context.Background()
	var tripped []string
	tripsBefore := c.breakerTrips(ctx)
	out := c.run(name, func(context.Context) string {
		for _, m := range modes {
			before := c.breakerTrips(ctx)
			m.inject(c)
			<-time.After(plan.stretch) // the outage itself, load continuing
			m.heal(c)
			<-time.After(plan.recovery) // recovery under load
			// Requests sent during the stretch may fail only now (timeouts).
			if c.breakerTrips(ctx) > before {
				tripped = append(tripped, m.name)
			} else {
				require.False(t, m.trips, "%s: %s for %s did not open the circuit breaker", name, m.name, plan.stretch)
			}
		}
		return fmt.Sprintf("%s each, %s recovery", plan.stretch, plan.recovery)
	})
	require.True(t, out.OK(), "%s: %s\nexamples:\n%s", name, out, out.Examples(10))

	// The breaker that opened closed again: the pipeline settled, so the
	// probe went through.
	state, err := c.rdb.HGet(ctx, c.keys.CircuitBreaker(), "state").Result()
	if errors.Is(err, redis.Nil) {
		state, err = forward.StateClosed, nil // never opened
	}
	require.NoError(t, err, "%s: read the breaker state", name)
	require.Equal(t, forward.StateClosed, state, "%s: the circuit breaker closed again", name)
	hist, err := c.rdb.XRevRangeN(ctx, c.keys.BreakerHistory(), "+", "-", 1).Result()
	require.NoError(t, err)
	if c.breakerTrips(ctx) > tripsBefore {
		require.NotEmpty(t, hist)
		require.Equal(t, forward.StateClosed, hist[0].Values["state"], "%s: the last breaker transition closed it", name)
	}

	rep := c.sim.EarlyRequests(retryAfterGrace)
	early, asked := len(rep.Early), rep.Asked
	for _, m := range modes {
		if m.retryAfter {
			require.Positive(t, asked, "%s: the simulator sent 429s with Retry-After", name)
		}
		if m.duplicates {
			require.Positive(t, out.Duplicates, "%s: Moogsoft processed timed-out requests, so retries duplicate", name)
		}
	}
	require.Zero(t, early, "%s: %d of the requests arrived while a Retry-After ran (first: %+v)", name, early, rep.Early)
	last := &c.rows[len(c.rows)-1]
	last.detail += fmt.Sprintf("; breaker opened %d× (%v), closed again; %d Retry-After answers, %d requests before one elapsed; dead letters %v",
		c.breakerTrips(ctx)-tripsBefore, tripped, asked, early, out.DLQReasons)
	t.Logf("%s: %s", name, last.detail)
}

// breakerTrips is the shared breaker's closed→open count.
func (c *cluster) breakerTrips(ctx context.Context) int64 {
	v, err := c.rdb.HGet(ctx, c.keys.CircuitBreaker(), "trips").Int64()
	if err != nil {
		return 0 // no trip yet: the field does not exist
	}
	return v
}
