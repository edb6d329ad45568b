package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ForEachRedisNode runs fn on every server behind c: on a Redis Cluster on
// each primary and each replica (concurrently), else on c itself. ACL users,
// ACL SAVE and CONFIG REWRITE are per server — a cluster never replicates
// them — so everything that manages MUTT's Redis user goes through here.
// Errors name the node; all of them are returned.
func ForEachRedisNode(ctx context.Context, c redis.UniversalClient, fn func(ctx context.Context, node redis.UniversalClient) error) error {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return fn(ctx, c)
	}
	var mu sync.Mutex
	var errs []error
	err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
		if err := fn(ctx, n); err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("redis node %s: %w", n.Options().Addr, err))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the redis cluster nodes: %w", err)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// RedisNodeAddrs lists the address of every server behind c (each primary
// and replica of a cluster), sorted.
func RedisNodeAddrs(ctx context.Context, c redis.UniversalClient) ([]string, error) {
	var mu sync.Mutex
	var out []string
	err := ForEachRedisNode(ctx, c, func(_ context.Context, n redis.UniversalClient) error {
		cl, ok := n.(*redis.Client)
		if !ok {
			return errors.New("not a single-server client")
		}
		mu.Lock()
		out = append(out, cl.Options().Addr)
		mu.Unlock()
		return nil
	})
	slices.Sort(out)
	return out, err
}
