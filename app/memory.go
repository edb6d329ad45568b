package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkEvictionPolicy refuses to start on a Redis whose maxmemory-policy may
// evict MUTT's streams. At maxmemory an allkeys-* policy deletes whole keys
// — an ingest or alert stream with every accepted event still in it — and
// nothing tells the client that its 2xx was a lie. noeviction (the Redis
// default) refuses writes instead: ingest answers 503 "Redis is out of
// memory", nothing accepted is lost. volatile-* policies evict only keys
// with a TTL (dashboard counters, rate-limit and dedup keys; never a stream):
// allowed, with an info line. It asks through admin when given (the
// worker's REDIS_ADMIN_URL) and otherwise through rdb; a connection that may
// not run CONFIG GET (MUTT's ACL user may not) is no failure: it says so at
// debug level, and the worker, which has the admin connection, checks.
func checkEvictionPolicy(ctx context.Context, rdb, admin redis.UniversalClient, log *slog.Logger) error {
	c := admin
	if c == nil {
		c = rdb
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	check := func(ctx context.Context, n redis.Cmdable) error {
		v, err := n.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			log.Debug("cannot read redis maxmemory-policy (this connection may not run CONFIG GET)", "err", err)
			return nil
		}
		policy := v["maxmemory-policy"]
		switch {
		case strings.HasPrefix(policy, "allkeys-"):
			return fmt.Errorf("redis maxmemory-policy is %s: at maxmemory Redis would evict MUTT's streams with the "+
				"events they hold; set maxmemory-policy noeviction (ingest then answers 503 while Redis is full and "+
				"loses nothing; docs/RELIABILITY.md)", policy)
		case strings.HasPrefix(policy, "volatile-"):
			log.Info("redis maxmemory-policy evicts keys with a TTL at maxmemory (dashboard counters, rate-limit "+
				"and dedup keys); MUTT's streams have none and are never evicted", "policy", policy)
		}
		return nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return check(ctx, n) })
	}
	return check(ctx, c)
}

// minRedis is the oldest Redis MUTT runs on: the forwarder's rate-limit and
// breaker scripts declare flags (`#!lua flags=allow-oom`, ADR 0046), which
// Redis before 7.0 cannot compile.
const minRedisMajor, minRedisMinor = 7, 0

// checkRedisVersion refuses to start on a Redis older than 7.0 (every
// primary of a cluster), naming the version it found. A connection that may
// not run INFO is no failure (said at debug level).
func checkRedisVersion(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	check := func(ctx context.Context, n redis.Cmdable) error {
		info, err := n.Info(ctx, "server").Result()
		if err != nil {
			log.Debug("cannot read the redis version (this connection may not run INFO)", "err", err)
			return nil
		}
		return redisVersionOK(info)
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return check(ctx, n) })
	}
	return check(ctx, rdb)
}

// redisVersionOK reads redis_version from INFO server's text and says
// whether it is at least minRedisMajor.minRedisMinor. An INFO without a
// readable version (a proxy, a fork) is let through.
func redisVersionOK(info string) error {
	for line := range strings.Lines(info) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		var major, minor int
		if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
			return nil
		}
		if major < minRedisMajor || (major == minRedisMajor && minor < minRedisMinor) {
			return fmt.Errorf("redis %s is too old: MUTT needs Redis %d.%d or later (its scripts declare flags; "+
				"docs/adr/0046-forwarder-scripts-run-at-maxmemory.md)", v, minRedisMajor, minRedisMinor)
		}
		return nil
	}
	return nil
}
