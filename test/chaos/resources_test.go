package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/chaos"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// resourceHold is how long a resource fault (Redis at maxmemory, a full
// disk) is left in place once it bites: the short profile keeps the suite's
// time, the full one shows a backlog building and draining.
func (c *cluster) resourceHold() time.Duration {
	if c.p.name == "full" {
		return 45 * time.Second
	}
	return 5 * time.Second
}

// TestChaosRedisMaxmemory fills Redis: under load its maxmemory is lowered to
// just above what it uses (policy noeviction, the only safe one: MUTT refuses
// to start on an allkeys-* policy, which would evict streams). The ingestors
// must refuse with 503 and say why (in the answer, their log and /health),
// nothing accepted may be lost, and everything recovers once maxmemory is
// raised.
func TestChaosRedisMaxmemory(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "always"})
	out := c.run("Redis at maxmemory (noeviction), then raised", c.redisFull)
	require.True(t, out.OK(), "%s\nexamples:\n%s", out, out.Examples(10))
	r := c.rows[len(c.rows)-1]
	require.Contains(t, r.refusals, "×503", "the ingestors refused while Redis was full: %s", r.refusals)
	logs, err := os.ReadFile(filepath.Join(c.logDir, "processes.log")) // #nosec G304 -- the test's own temp dir
	require.NoError(t, err)
	require.Contains(t, string(logs), "redis refuses writes: out of memory", "the ingestors' log names the cause")
	c.report()
}

// redisHeadroom is how far above Redis's use maxmemory is set: at the short
// profile's 100 events/s, 256 KiB took over a minute to fill.
func (c *cluster) redisHeadroom() int64 {
	if c.p.name == "full" {
		return 256 << 10
	}
	return 32 << 10
}

// redisFull sets maxmemory to what Redis uses plus the headroom, waits until an
// ingestor's /health reports redis_memory failing, holds (asserting Moogsoft
// keeps receiving alerts meanwhile), then lifts the
// limit and waits until every ingestor is healthy again.
func (c *cluster) redisFull(ctx context.Context) string {
	t := c.t
	require.NoError(t, c.rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	used := testenv.RedisUsedMemory(t, c.rdb)
	require.NoError(t, c.rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+c.redisHeadroom(), 10)).Err())
	set := time.Now()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, "error", c.dependency(ct, c.role("ingestor"), "redis_memory"))
	}, 2*time.Minute, 100*time.Millisecond, "an ingestor's /health reports Redis out of memory")
	bit := time.Since(set)
	// The fault lasts (load keeps coming), and the forwarders keep delivering
	// and acknowledging through it: that is what frees memory (ADR 0046).
	held, sent := time.Now(), c.sim.Requests()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Greater(ct, c.sim.Requests(), sent)
	}, time.Minute, 100*time.Millisecond, "Moogsoft keeps receiving alerts while Redis is at maxmemory")
	<-time.After(max(c.resourceHold()-time.Since(held), 0))
	require.NoError(t, c.rdb.ConfigSet(ctx, "maxmemory", "0").Err())
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for _, p := range c.role("ingestor") {
			assert.Equal(ct, "ok", c.dependency(ct, []*chaos.Process{p}, "redis_memory"), p.Name)
		}
	}, 2*time.Minute, 100*time.Millisecond, "every ingestor's /health recovers once maxmemory is raised")
	return fmt.Sprintf("maxmemory = used %d KiB + %d KiB; full after %s, held %s, then 0", used>>10, c.redisHeadroom()>>10,
		bit.Round(100*time.Millisecond), c.resourceHold())
}

// dependency returns what the first of ps answering /health says about dep
// ("ok", "error"; "" when it does not name it).
func (c *cluster) dependency(ct *assert.CollectT, ps []*chaos.Process, dep string) string {
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, p := range ps {
		res, err := hc.Get(p.Health)
		if err != nil {
			continue
		}
		var body struct {
			Dependencies map[string]string `json:"dependencies"`
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		_ = res.Body.Close()
		if assert.NoError(ct, err, p.Name) {
			return body.Dependencies[dep]
		}
	}
	return ""
}

// TestChaosPostgresDiskFull puts every table of the audit database on a
// size-limited tmpfs (a tablespace: the stand-in of a full data disk; the WAL
// stays on the machine's disk), shrinks it to what it holds plus a little
// under load, so audit inserts fail with "No space left on device" (SQLSTATE
// 53100), holds, then grows it as an operator adding space would. Ingest
// keeps accepting (the events wait in Redis), the alerters retry without
// acknowledging or dead-lettering, and after the disk grows everything is
// audited once and delivered.
func TestChaosPostgresDiskFull(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "always"})
	disk := c.auditOnTmpfs()
	c.phase("PostgreSQL disk full (audit tablespace on a tmpfs), then grown", func(ctx context.Context) string {
		return c.diskFull(ctx, disk)
	})
	logs, err := os.ReadFile(filepath.Join(c.logDir, "processes.log")) // #nosec G304 -- the test's own temp dir
	require.NoError(t, err)
	require.Contains(t, string(logs), "No space left on device", "the alerters' log names the cause")
	c.report()
}

// auditOnTmpfs mounts a 256 MiB tmpfs, makes it a tablespace of the private
// cluster and moves every table and index of the audit database onto it.
// The mount is detached at cleanup, also when the test fails.
func (c *cluster) auditOnTmpfs() *chaos.Tmpfs {
	t := c.t
	ctx := context.Background()
	dir := filepath.Join(c.pg.Dir, "audit-disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	disk, err := chaos.MountTmpfs(ctx, dir, 256<<20)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, disk.Unmount()) })
	require.NoError(t, os.Chmod(dir, 0o700))
	require.NoError(t, chownPostgres(dir))
	for _, sql := range []string{
		"CREATE TABLESPACE audit_disk LOCATION '" + dir + "'",
		"ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE audit_disk",
		"ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE audit_disk",
		// New partitions (the worker creates them ahead) land there too.
		"ALTER DATABASE mutt_chaos SET default_tablespace = audit_disk",
	} {
		_, err := c.db.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	var n int
	require.NoError(t, c.db.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_tablespace s ON s.oid = c.reltablespace
		WHERE s.spcname = 'audit_disk' AND c.relname LIKE 'event_audit_log%'`).Scan(&n))
	require.Positive(t, n, "the audit partitions are on the tmpfs")
	return disk
}

// diskFull shrinks the tmpfs to what it uses plus 256 KiB, waits until it is
// full (the audit inserts then fail), holds, and grows it back to 256 MiB.
func (c *cluster) diskFull(ctx context.Context, disk *chaos.Tmpfs) string {
	t := c.t
	used, _, err := disk.Usage()
	require.NoError(t, err)
	require.NoError(t, disk.Resize(ctx, used+256<<10))
	set := time.Now()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		_, avail, err := disk.Usage()
		if assert.NoError(ct, err) {
			assert.Less(ct, avail, int64(64<<10), "the disk fills up")
		}
	}, 2*time.Minute, 100*time.Millisecond)
	bit := time.Since(set)
	// The fault lasts (load keeps coming), and the forwarders keep delivering
	// and acknowledging through it: that is what frees memory (ADR 0046).
	held, sent := time.Now(), c.sim.Requests()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Greater(ct, c.sim.Requests(), sent)
	}, time.Minute, 100*time.Millisecond, "Moogsoft keeps receiving alerts while Redis is at maxmemory")
	<-time.After(max(c.resourceHold()-time.Since(held), 0))
	require.NoError(t, disk.Resize(ctx, 256<<20))
	return fmt.Sprintf("tmpfs = used %d KiB + 256 KiB; full after %s, held %s, then 256 MiB", used>>10,
		bit.Round(100*time.Millisecond), c.resourceHold())
}

// chownPostgres gives dir to the postgres user when the test runs as root
// (testenv.StartPostgres then runs the server as postgres).
func chownPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("look up the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// TestChaosClockSkew restarts one ingestor with its clock minutes ahead, then
// minutes behind (MUTT_TEST_CLOCK_OFFSET, ADR 0041: Go reads the wall clock
// from the vDSO, so neither libfaketime nor a time namespace can move it for
// one process, and `date -s` would move it for every test on the machine).
// The ingestor's clock is the only one that enters shared state — received_at
// of the audit rows; rate limits, the breaker and stream idle times run on
// Redis's clock, timers on the monotonic clock — so the test asserts that
// the skewed replica's events are audited once (received_at off by the
// skew, as an operator will see) and delivered, and that the other replica's
// events are not held up.
func TestChaosClockSkew(t *testing.T) {
	c := newCluster(t, chosenProfile(t), clusterOptions{AppendFsync: "always"})
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		start := time.Now()
		c.phase(fmt.Sprintf("ingestor-2 clock %+v", skew), func(ctx context.Context) string {
			return c.skewIngestor(ctx, skew)
		})
		var off int
		require.NoError(t, c.db.QueryRow(context.Background(), `SELECT count(*) FROM event_audit_log
			WHERE received_at >= $1::timestamptz + $2::interval - interval '1 minute'
			  AND received_at <= now() + $2::interval + interval '1 minute'`,
			start, fmt.Sprintf("%d seconds", int(skew.Seconds()))).Scan(&off))
		require.Positive(t, off, "the skewed ingestor's events carry its clock in received_at")
	}
	c.report()
}

// skewIngestor restarts ingestor-2 with its clock shifted by skew (a
// restart with a clock that jumped); the next call replaces the shift.
func (c *cluster) skewIngestor(ctx context.Context, skew time.Duration) string {
	var p *chaos.Process
	for _, q := range c.role("ingestor") {
		if q.Name == "ingestor-2" {
			p = q
		}
	}
	require.NotNil(c.t, p)
	require.True(c.t, p.Stop(30*time.Second), "ingestor-2 exits within 30 s of SIGTERM")
	env := make([]string, 0, len(p.Env)+1)
	for _, v := range p.Env {
		if !strings.HasPrefix(v, "MUTT_TEST_CLOCK_OFFSET=") {
			env = append(env, v)
		}
	}
	p.Env = append(env, "MUTT_TEST_CLOCK_OFFSET="+skew.String())
	require.NoError(c.t, p.Start(ctx, 2*time.Minute), "restart ingestor-2 with its clock off by %s", skew)
	return fmt.Sprintf("ingestor-2 restarted with MUTT_TEST_CLOCK_OFFSET=%s", skew)
}
