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
