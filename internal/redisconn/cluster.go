package redisconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// MGet is MGET that also works on a Redis Cluster, where keys of different
// slots may not share one command (CROSSSLOT): there it sends one GET per
// key in one pipeline, which the cluster client splits per node. The reply
// has MGET's shape: the value, or nil for a missing key, in keys' order.
func MGet(ctx context.Context, c redis.Cmdable, keys ...string) ([]any, error) {
	if _, ok := c.(*redis.ClusterClient); !ok || len(keys) == 0 {
		return c.MGet(ctx, keys...).Result()
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]any, len(keys))
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, err
		default:
			out[i] = v
		}
	}
	return out, nil
}

// ScanKeys lists the keys matching pattern. On a Redis Cluster a SCAN sees
// one node only, so it scans every primary.
func ScanKeys(ctx context.Context, c redis.UniversalClient, pattern string, count int64) ([]string, error) {
	scan := func(ctx context.Context, n redis.Cmdable) ([]string, error) {
		var keys []string
		iter := n.Scan(ctx, 0, pattern, count).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return keys, iter.Err()
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, c)
	}
	ch := make(chan []string, 64)
	done := make(chan []string)
	go func() {
		var all []string
		for ks := range ch {
			all = append(all, ks...)
		}
		done <- all
	}()
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		ks, err := scan(ctx, n)
		if err != nil {
			return fmt.Errorf("scan %s: %w", n.Options().Addr, err)
		}
		ch <- ks
		return nil
	})
	close(ch)
	all := <-done
	return all, err
}
