package chaos_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// everysecBound is what appendfsync everysec promises to lose at most on a
// crash of the machine: the writes since the last fsync, which runs every
// second in the background, and up to two when an fsync is slow (Redis
// then delays writes rather than let the gap grow). docs/RELIABILITY.md
// and ADR 0042.
const everysecBound = 2 * time.Second

// crash is one emulated power loss of the cluster's Redis.
type crash struct {
	at      time.Time // just before the kill -9
	dropped int64     // bytes of AOF written but not fsynced, cut off
	// unsynced is how long before the crash the last fsync of the AOF
	// began: every write Redis made after that moment was lost.
	unsynced time.Duration
}

// redisPowerLoss returns a fault that emulates the machine under Redis
// losing power, the profile's number of times: kill -9 of redis-server,
// then every AOF file cut back to its last fsync (the cluster's Redis runs
// under chaos.FsyncShim), then a restart. It appends each crash to crashes
// (when not nil).
func (c *cluster) redisPowerLoss(crashes *[]crash) func(context.Context) string {
	return func(context.Context) string {
		var dropped []string
		for i := 0; i < c.p.redisKills; i++ {
			if i > 0 {
				c.pause(time.Second, 3*time.Second)
			}
			k := crash{at: time.Now()}
			c.redis.Kill()
			cuts, err := c.shim.PowerLoss(c.redis.Dir)
			require.NoError(c.t, err)
			var files []string
			for _, cut := range cuts {
				k.dropped += cut.Dropped()
				if !cut.SyncedAt.IsZero() {
					k.unsynced = max(k.unsynced, k.at.Sub(cut.SyncedAt))
				}
				files = append(files, fmt.Sprintf("%s %d→%d", filepath.Base(cut.File), cut.Size, cut.Synced))
			}
			c.t.Logf("power loss %d: AOF %s", i+1, strings.Join(files, ", "))
			dropped = append(dropped, fmt.Sprintf("%d B, last fsync %s before", k.dropped, k.unsynced.Round(time.Millisecond)))
			if crashes != nil {
				*crashes = append(*crashes, k)
			}
			c.pause(500*time.Millisecond, 2*time.Second)
			c.redis.Start()
		}
		return fmt.Sprintf("%d power loss(es): kill -9, AOF cut to its last fsync (unsynced AOF dropped: %s), restart",
			c.p.redisKills, strings.Join(dropped, ", "))
	}
}

// TestChaosRedisEverysec runs Redis with appendfsync everysec. A kill -9 of
// the process loses nothing (the kernel keeps what Redis wrote); a power
// loss of its machine, emulated by cutting the AOF back to its last fsync,
// loses the events accepted since then. The test measures that window
// (events lost, the age of the oldest at the crash) and requires every lost
// event to have been accepted less than everysecBound before a crash.
func TestChaosRedisEverysec(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "everysec"})
	c.phase("Redis kill -9 and restart (appendfsync everysec)", c.redisRestart)

	var crashes []crash
	out := c.run("Redis power loss (appendfsync everysec)", c.redisPowerLoss(&crashes))
	require.Empty(t, out.AuditedTwice, "exactly one audit row per event:\n%s", out.Examples(10))
	accepted := map[string]time.Time{}
	for _, a := range c.last {
		accepted[a.ID] = a.At
	}
	var outside []string
	var ages []time.Duration
	for _, id := range out.LostIDs {
		at := accepted[id]
		// The crash that lost it is the first one after its 2xx (a 2xx
		// read just after the kill was sent just before it).
		age, found := time.Duration(0), false
		for _, k := range crashes {
			if d := k.at.Sub(at); d >= -100*time.Millisecond {
				age, found = max(d, 0), true
				break
			}
		}
		if !found || age > everysecBound {
			outside = append(outside, fmt.Sprintf("%s accepted %s", id, at.Format("15:04:05.000")))
			continue
		}
		ages = append(ages, age)
	}
	slices.Sort(ages)
	var oldest, median time.Duration
	if len(ages) > 0 {
		oldest, median = ages[len(ages)-1], ages[len(ages)/2]
	}
	var dropped int64
	var unsynced time.Duration
	for _, k := range crashes {
		dropped += k.dropped
		unsynced = max(unsynced, k.unsynced)
	}
	t.Logf("everysec power loss: %d of %d accepted events lost over %d crash(es); Redis lost %d B of AOF, "+
		"the writes of the last %s before a crash; the oldest lost event was accepted %s before its crash, the median %s (bound %s)",
		len(out.LostIDs), out.Accepted, len(crashes), dropped, unsynced.Round(time.Millisecond), oldest.Round(time.Millisecond),
		median.Round(time.Millisecond), everysecBound)
	require.LessOrEqual(t, unsynced, everysecBound, "Redis's own window: the last fsync began at most %s before a crash", everysecBound)
	require.Empty(t, outside, "events lost outside the %s everysec window (crashes at %v)", everysecBound, crashes)
	c.report()
}
