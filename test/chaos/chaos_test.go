// Package chaos_test runs MUTT as real processes under load and breaks them:
// kill -9 of every role at random moments, SIGTERM rolling restarts, Redis
// killed and restarted, PostgreSQL crashed, restarted and stopped for a
// while. After each fault it reconciles every event_id answered 2xx against
// the audit log, the Moogsoft simulator and the dead-letter streams; an event
// in none of them is lost and fails the test. The short profile runs with
// `go test ./...`; `make chaos` runs the full one (MUTT_CHAOS_PROFILE=full).
// docs/RELIABILITY.md has the results; ADR 0035 the design.
package chaos_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/chaos"
)

// profile sizes a run.
type profile struct {
	name       string
	load       time.Duration // of each phase
	rate       int           // events/s offered
	senders    int
	kills      int           // kill -9s in the kill phase
	redisKills int           // Redis kill -9s per Redis phase
	pgOutage   time.Duration // PostgreSQL stopped this long while load continues
	drain      time.Duration // longest wait for the pipeline to settle after a phase
	seed       uint64        // 0: from the clock
}

func chosenProfile(t *testing.T) profile {
	p := profile{name: "short", load: 15 * time.Second, rate: 100, senders: 4, kills: 6, redisKills: 1,
		pgOutage: 10 * time.Second, drain: 3 * time.Minute}
	switch v := os.Getenv("MUTT_CHAOS_PROFILE"); v {
	case "", "short":
	case "full":
		p = profile{name: "full", load: 90 * time.Second, rate: 400, senders: 8, kills: 12, redisKills: 3,
			pgOutage: time.Minute, drain: 10 * time.Minute}
	default:
		t.Fatalf("MUTT_CHAOS_PROFILE=%q: want short or full", v)
	}
	if s := os.Getenv("MUTT_CHAOS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "MUTT_CHAOS_SEED must be an unsigned integer")
		p.seed = seed
	}
	return p
}

// TestChaosZeroLoss runs the process and storage faults against a cluster
// whose Redis fsyncs its AOF at every write (appendfsync always): whatever
// breaks, every accepted event ends audited exactly once and delivered, or
// dead-lettered with a reason.
func TestChaosZeroLoss(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "always"})
	c.phase("none (control)", func(context.Context) string { return "no fault" })
	c.phase("kill -9 of random roles", c.killRandom)
	c.phase("SIGTERM rolling restart", c.rollingRestart)
	c.phase("Redis kill -9 and restart (appendfsync always)", c.redisRestart)
	c.phase("Redis power loss (appendfsync always)", c.redisPowerLoss(nil))
	c.phase("PostgreSQL crash (immediate stop) and restart", c.pgCrash)
	c.phase("PostgreSQL stopped while load continues", c.pgOutage)
	c.report()
}

// phase runs fault under load and requires that nothing was lost.
func (c *cluster) phase(name string, fault func(context.Context) string) {
	c.t.Helper()
	out := c.run(name, fault)
	require.True(c.t, out.OK(), "%s: %s\nexamples:\n%s", name, out, out.Examples(10))
}

// run offers load for the profile's phase length, injects fault at a random
// moment in its first third, waits for the pipeline to settle and reconciles
// the accepted events.
func (c *cluster) run(name string, fault func(context.Context) string) chaos.Outcome {
	t := c.t
	t.Helper()
	ctx := context.Background()
	c.sim.Reset()
	load, err := chaos.StartLoad(chaos.LoadOptions{Ingest: c.ingest, APIKey: ingestKey, Bodies: c.bodies,
		Rate: c.p.rate, Senders: c.p.senders, Unhandled: unhandled})
	require.NoError(t, err)
	start := time.Now()
	c.pause(c.p.load/10, c.p.load/3)
	t.Logf("%s: fault at +%s", name, time.Since(start).Round(time.Millisecond))
	detail := fault(ctx)
	if rest := c.p.load - time.Since(start); rest > 0 {
		<-time.After(rest) // the phase's length: load keeps coming after the fault
	}
	load.Stop()
	loadEnd := time.Now()
	c.last = load.Accepted()
	require.NotEmpty(t, c.last, "%s: the ingestors accepted nothing (%s)", name, load.Refusals())
	require.Zero(t, load.UnreadableOK(), "%s: 200 answers without event_ids", name)

	// Settle: wait until every accepted event has its outcome, or the
	// profile's drain time has passed (then the rest is lost).
	var out chaos.Outcome
	deadline := loadEnd.Add(c.p.drain)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		out, err = chaos.Reconcile(ctx, c.db, c.rdb, c.dlqs(), c.sim, c.last)
		if err == nil && out.OK() || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	require.NoError(t, err, "%s: reconcile", name)
	settled := time.Since(loadEnd)
	for _, p := range c.procs {
		require.Empty(t, p.Unwanted(), "%s: a process died by itself (log: %s)", name, c.logDir)
		require.True(t, p.Running(), "%s: %s is not running", name, p.Name)
	}
	c.rows = append(c.rows, row{fault: name, detail: detail, out: out, refusals: load.Refusals(),
		settled: settled, loadAvg: loadAvg()})
	t.Logf("%s (%s): %s; settled %s after the load; not accepted: %s", name, detail, out,
		settled.Round(time.Second), load.Refusals())
	return out
}

// pause waits a random time in [lo, hi): the random moments of the faults.
func (c *cluster) pause(lo, hi time.Duration) {
	d := lo
	if hi > lo {
		d += time.Duration(c.rng.Int64N(int64(hi - lo)))
	}
	<-time.After(d)
}

// killRandom kills -9 processes at random moments, restarting each after a
// moment as a supervisor (systemd, Kubernetes) would: first one replica of
// every role, in random order, then random processes.
func (c *cluster) killRandom(ctx context.Context) string {
	var victims []*chaos.Process
	for _, role := range []string{"ingestor", "alerter", "forwarder", "worker"} {
		if ps := c.role(role); len(ps) > 0 {
			victims = append(victims, ps[c.rng.IntN(len(ps))])
		}
	}
	c.rng.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	for len(victims) < c.p.kills {
		victims = append(victims, c.procs[c.rng.IntN(len(c.procs))])
	}
	var killed []string
	for i, p := range victims {
		if i > 0 {
			c.pause(500*time.Millisecond, 3*time.Second)
		}
		p.Kill()
		killed = append(killed, p.Name)
		c.pause(0, 2*time.Second)
		require.NoError(c.t, p.Start(ctx, 2*time.Minute), "restart %s after kill -9 (log: %s)", p.Name, c.logDir)
	}
	return "killed " + strings.Join(killed, ", ")
}

// rollingRestart stops every process with SIGTERM and starts it again, one
// after the other, as a deployment does.
func (c *cluster) rollingRestart(ctx context.Context) string {
	graceful := 0
	for _, p := range c.procs {
		// A process that ignores SIGTERM would be killed by the supervisor
		// after its grace: the deployment would hang and then crash it.
		require.True(c.t, p.Stop(30*time.Second), "%s exits within 30 s of SIGTERM (log: %s)", p.Name, c.logDir)
		graceful++
		require.NoError(c.t, p.Start(ctx, 2*time.Minute), "restart %s after SIGTERM (log: %s)", p.Name, c.logDir)
	}
	return fmt.Sprintf("%d processes, %d exited within 30 s of SIGTERM", len(c.procs), graceful)
}

// redisRestart kills -9 Redis and starts it again (same port and AOF).
func (c *cluster) redisRestart(context.Context) string {
	for i := 0; i < c.p.redisKills; i++ {
		if i > 0 {
			c.pause(time.Second, 3*time.Second)
		}
		c.redis.Kill()
		c.pause(500*time.Millisecond, 2*time.Second)
		c.redis.Start()
	}
	return fmt.Sprintf("%d kill(s), down 0.5–2 s each", c.p.redisKills)
}

// pgCrash stops PostgreSQL as a crash would (no checkpoint) and starts it
// again, which recovers from the WAL.
func (c *cluster) pgCrash(context.Context) string {
	require.NoError(c.t, c.pg.Stop("immediate"))
	c.pause(500*time.Millisecond, 2*time.Second)
	require.NoError(c.t, c.pg.Start())
	return "pg_ctl stop -m immediate, start"
}

// pgOutage stops PostgreSQL cleanly and keeps it down for the profile's
// outage while the load continues.
func (c *cluster) pgOutage(context.Context) string {
	require.NoError(c.t, c.pg.Stop("fast"))
	<-time.After(c.p.pgOutage) // the outage itself
	require.NoError(c.t, c.pg.Start())
	return fmt.Sprintf("down %s", c.p.pgOutage)
}

// row is one line of the fault × outcome table.
type row struct {
	fault, detail, refusals string
	out                     chaos.Outcome
	settled                 time.Duration
	loadAvg                 float64
}

// report logs the fault × outcome table in docs/RELIABILITY.md's format and,
// when MUTT_CHAOS_REPORT names a file, appends it there.
func (c *cluster) report() {
	var b strings.Builder
	fmt.Fprintf(&b, "\nprofile %s (%d events/s offered, %s per phase), %s\n", c.p.name, c.p.rate, c.p.load, time.Now().UTC().Format(time.RFC3339))
	b.WriteString("| fault | accepted | audited | delivered | duplicates | ignored / unhandled | dead-lettered | lost | settled | load avg |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range c.rows {
		o := r.out
		fmt.Fprintf(&b, "| %s (%s) | %d | %d | %d | %d (%.2f %%) | %d / %d | %d | %d | %s | %.1f |\n", r.fault, r.detail,
			o.Accepted, o.Audited, o.Delivered, o.Duplicates, 100*o.DuplicateRate(), o.Ignored, o.Unhandled,
			o.DeadLettered, len(o.Lost), r.settled.Round(time.Second), r.loadAvg)
	}
	c.t.Log(b.String())
	if path := os.Getenv("MUTT_CHAOS_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) // #nosec G304 -- the operator names the report file
		require.NoError(c.t, err)
		_, err = f.WriteString(c.t.Name() + b.String())
		require.NoError(c.t, err)
		require.NoError(c.t, f.Close())
	}
}

// loadAvg is the 1-minute load average: on a shared machine it says how far
// to trust the timings.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}
