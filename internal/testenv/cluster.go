package testenv

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RedisCluster is a Redis Cluster of a test's own: three primaries and
// three replicas of `redis-server --cluster-enabled yes` on free local
// ports, each in its own temporary directory with AOF on, joined by
// `redis-cli --cluster create --cluster-replicas 1`. Every node is stopped
// at cleanup. Nodes may be killed (kill -9) to test a failover.
type RedisCluster struct {
	Nodes []*RedisServer // in creation order; the first three start as primaries
	t     testing.TB
}

// StartRedisCluster starts the six nodes, creates the cluster and waits
// until every node reports cluster_state:ok and knows all six. A node that
// loses its primary for more than a second (cluster-node-timeout 1000) is
// replaced by its replica, so failover tests take seconds.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	NeedsServices(t, "redis-server (a cluster)")
	c := &RedisCluster{t: t}
	for range 6 {
		// The cluster bus gets a free port of its own: by default it is
		// port+10000, which another test (or service) may hold.
		port, bus := freePort(t), freePort(t)
		for bus == port {
			bus = freePort(t)
		}
		dir := t.TempDir()
		args := []string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(bus), "--dir", dir,
			"--logfile", filepath.Join(dir, "redis.log"), "--save", "",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
			"--appendonly", "yes", "--appendfsync", "everysec",
		}
		r := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, args: args, t: t}
		t.Cleanup(func() {
			if r.cmd != nil {
				r.Kill()
			}
		})
		r.Start()
		c.Nodes = append(c.Nodes, r)
	}
	create := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		create = append(create, n.Addr)
	}
	create = append(create, "--cluster-replicas", "1", "--cluster-yes")
	out, err := exec.Command("redis-cli", create...).CombinedOutput() // #nosec G204 -- tests only: redis-cli with the test's own node addresses
	require.NoError(t, err, "redis-cli --cluster create: %s", out)
	c.WaitHealthy()
	return c
}

// Addrs are the addresses of the nodes still running.
func (c *RedisCluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		if n.cmd != nil {
			out = append(out, n.Addr)
		}
	}
	return out
}

// URL is REDIS_URL in go-redis's cluster form (redis.ParseClusterURL):
// redis://first?addr=second&addr=third…, over the running nodes.
func (c *RedisCluster) URL() string {
	addrs := c.Addrs()
	u := "redis://" + addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}

// Client is a cluster client of the test's own (no credentials), closed at
// cleanup.
func (c *RedisCluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Node is the running node at addr.
func (c *RedisCluster) Node(addr string) *RedisServer {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	c.t.Fatalf("no cluster node at %s", addr)
	return nil
}

// Primaries are the addresses of the nodes that are primaries now, each
// with the slot ranges it owns, asked of one running node (CLUSTER SHARDS
// is Redis 7; CLUSTER SLOTS works everywhere).
func (c *RedisCluster) Primaries(ctx context.Context) map[string][][2]int64 {
	c.t.Helper()
	cl := redis.NewClient(&redis.Options{Addr: c.Addrs()[0]})
	defer func() { _ = cl.Close() }()
	//lint:ignore SA1019 the slot map as go-redis's cluster client reads it
	slots, err := cl.ClusterSlots(ctx).Result()
	require.NoError(c.t, err)
	out := map[string][][2]int64{}
	for _, s := range slots {
		addr := s.Nodes[0].Addr
		out[addr] = append(out[addr], [2]int64{int64(s.Start), int64(s.End)})
	}
	return out
}

// PrimaryOf is the address of the node that owns key's slot now.
func (c *RedisCluster) PrimaryOf(ctx context.Context, key string) string {
	c.t.Helper()
	cl := redis.NewClient(&redis.Options{Addr: c.Addrs()[0]})
	defer func() { _ = cl.Close() }()
	slot, err := cl.ClusterKeySlot(ctx, key).Result()
	require.NoError(c.t, err)
	for addr, ranges := range c.Primaries(ctx) {
		for _, r := range ranges {
			if slot >= r[0] && slot <= r[1] {
				return addr
			}
		}
	}
	c.t.Fatalf("no primary owns slot %d of %s", slot, key)
	return ""
}

// WaitHealthy waits until every running node says cluster_state:ok, all of
// them agree on which nodes are primaries, every primary is running, and
// every node lists every running node (replicas included) in CLUSTER SLOTS.
func (c *RedisCluster) WaitHealthy() {
	c.t.Helper()
	ctx := context.Background()
	require.EventuallyWithT(c.t, func(ct *assert.CollectT) {
		addrs := c.Addrs()
		var views []string
		for _, a := range addrs {
			cl := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
			info, err := cl.ClusterInfo(ctx).Result()
			nodes, nerr := cl.ClusterNodes(ctx).Result()
			_ = cl.Close()
			if !assert.NoError(ct, err) || !assert.NoError(ct, nerr) {
				return
			}
			assert.Contains(ct, info, "cluster_state:ok", "node %s", a)
			// A killed primary is first only suspected (fail?) and still owns
			// its slots: healthy means a replica has taken them over.
			assert.Empty(ct, failingPrimaries(nodes), "node %s sees failing primaries that still own slots", a)
			views = append(views, primariesIn(nodes))
			// Clients find the nodes through CLUSTER SLOTS: every running
			// node, replicas included, must be listed there.
			cl = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
			//lint:ignore SA1019 the slot map as go-redis's cluster client reads it
			slots, err := cl.ClusterSlots(ctx).Result()
			_ = cl.Close()
			if !assert.NoError(ct, err) {
				return
			}
			var listed []string
			for _, s := range slots {
				for _, n := range s.Nodes {
					listed = append(listed, n.Addr)
				}
			}
			for _, want := range addrs {
				assert.Contains(ct, listed, want, "node %s lists %s in CLUSTER SLOTS", a, want)
			}
		}
		for _, v := range views {
			assert.Equal(ct, views[0], v, "the nodes agree on the primaries")
		}
		for _, p := range strings.Split(views[0], ",") {
			assert.Contains(ct, addrs, p, "every primary is running")
		}
	}, 60*time.Second, 100*time.Millisecond, "redis cluster healthy")
}

// primariesIn lists, sorted, the connected primaries that own slots in a
// CLUSTER NODES reply.
func primariesIn(nodes string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, addr)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// failingPrimaries lists the primaries a CLUSTER NODES reply flags as
// failing (fail or fail?) while they still own slots.
func failingPrimaries(nodes string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 && strings.Contains(f[2], "master") && strings.Contains(f[2], "fail") {
			out = append(out, f[1])
		}
	}
	return out
}

// Reshard moves n slots to the primary at to from every other primary
// (redis-cli --cluster reshard --cluster-from all), keys included, while
// the cluster keeps serving.
func (c *RedisCluster) Reshard(to string, n int) {
	c.t.Helper()
	cl := redis.NewClient(&redis.Options{Addr: to})
	defer func() { _ = cl.Close() }()
	id, err := cl.ClusterMyID(context.Background()).Result()
	require.NoError(c.t, err)
	out, err := exec.Command("redis-cli", "--cluster", "reshard", to, "--cluster-from", "all", // #nosec G204 -- tests only: redis-cli with the test's own node addresses
		"--cluster-to", id, "--cluster-slots", strconv.Itoa(n), "--cluster-yes").CombinedOutput()
	require.NoError(c.t, err, "redis-cli --cluster reshard: %s", out)
}

// MigrateSlot moves one slot, keys included, from its primary to the
// primary at to, with the steps redis-cli uses (CLUSTER SETSLOT
// IMPORTING/MIGRATING, MIGRATE in batches, SETSLOT NODE on both).
func (c *RedisCluster) MigrateSlot(ctx context.Context, slot int64, to string) {
	c.t.Helper()
	from := ""
	for addr, ranges := range c.Primaries(ctx) {
		for _, r := range ranges {
			if slot >= r[0] && slot <= r[1] {
				from = addr
			}
		}
	}
	require.NotEmpty(c.t, from)
	if from == to {
		return
	}
	src := redis.NewClient(&redis.Options{Addr: from})
	dst := redis.NewClient(&redis.Options{Addr: to})
	defer func() { _ = src.Close(); _ = dst.Close() }()
	srcID, err := src.ClusterMyID(ctx).Result()
	require.NoError(c.t, err)
	dstID, err := dst.ClusterMyID(ctx).Result()
	require.NoError(c.t, err)
	require.NoError(c.t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	require.NoError(c.t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	host, port, _ := net.SplitHostPort(to)
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		require.NoError(c.t, err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		require.NoError(c.t, src.Do(ctx, args...).Err(), "MIGRATE")
	}
	require.NoError(c.t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	require.NoError(c.t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	c.WaitHealthy()
}

// String names the nodes, for failure messages.
func (c *RedisCluster) String() string {
	return fmt.Sprintf("redis cluster %v", c.Addrs())
}
