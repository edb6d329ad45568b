package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
)

// ShardPlacement maps each primary of a Redis Cluster to the stream shards
// (ingest and alert shard n share the hash tag {n}, so one slot) it owns.
func ShardPlacement(ctx context.Context, cc *redis.ClusterClient, keys keyspace.Keys) (map[string][]int, error) {
	out := map[string][]int{}
	for n := range keys.Shards {
		node, err := cc.MasterForKey(ctx, keys.IngestStream(n))
		if err != nil {
			return nil, fmt.Errorf("find the primary of shard %d: %w", n, err)
		}
		addr := node.Options().Addr
		out[addr] = append(out[addr], n)
	}
	return out, nil
}

// logShardPlacement says at start which primary holds which shards, and
// warns when the shards could use more primaries than they do: the hash
// tags {0}, {1}… land where the cluster's slot layout puts them (with
// redis-cli's even split over three primaries, shards 0–3 reach all three;
// docs/SCALING.md).
func logShardPlacement(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, log *slog.Logger) {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return
	}
	place, err := ShardPlacement(ctx, cc, keys)
	if err != nil {
		log.Warn("cannot tell where the stream shards live", "err", err)
		return
	}
	primaries := 0
	_ = cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { primaries++; return nil })
	var parts []string
	for addr, shards := range place {
		parts = append(parts, fmt.Sprintf("%s=%v", addr, shards))
	}
	slices.Sort(parts)
	log.Info("redis cluster: stream shards per primary", "placement", strings.Join(parts, " "), "primaries", primaries, "shards", keys.Shards)
	if used := len(place); used < min(keys.Shards, primaries) {
		log.Warn("redis cluster: the stream shards use fewer primaries than they could; raise MUTT_STREAM_SHARDS "+
			"or move the shards' slots (docs/SCALING.md)", "primaries_used", used, "primaries", primaries, "shards", keys.Shards)
	}
}

// checkDurability refuses a durability setting the servers cannot give:
// WAITAOF on a Redis older than 7.2. A primary with fewer replicas than
// MUTT_REDIS_WAIT_REPLICAS asks for is a warning (replicas may still be
// starting); until they are there its shards' ingest answers 503.
func checkDurability(ctx context.Context, rdb redis.UniversalClient, d stream.Durability, log *slog.Logger) error {
	if !d.Enabled() {
		return nil
	}
	if d.AOF {
		v, err := rdb.Do(ctx, "COMMAND", "INFO", "waitaof").Slice()
		if err != nil {
			return fmt.Errorf("MUTT_REDIS_WAITAOF: ask redis for WAITAOF: %w", err)
		}
		if len(v) == 0 || v[0] == nil {
			return errors.New("MUTT_REDIS_WAITAOF: this Redis has no WAITAOF (it needs Redis 7.2 or later); " +
				"unset it, or use appendfsync always on the servers for the same local guarantee (docs/adr/0034-redis-durability.md)")
		}
	}
	if d.Replicas > 0 {
		// WAIT 0 0 on a connection that wrote nothing answers at once with
		// the replicas connected to that primary (WAIT is in @connection,
		// which MUTT's ACL user has; INFO is not).
		check := func(ctx context.Context, n redis.UniversalClient) error {
			got, err := n.Do(ctx, "WAIT", 0, 0).Int64()
			if err == nil && got < int64(d.Replicas) {
				log.Warn("redis primary has fewer replicas than MUTT_REDIS_WAIT_REPLICAS asks for: ingest answers 503 until they are there",
					"replicas", got, "wait_replicas", d.Replicas)
			}
			return nil
		}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return check(ctx, n) })
		} else {
			_ = check(ctx, rdb)
		}
	}
	log.Info("ingest durability", "wait", d.String(), "timeout", d.Timeout)
	return nil
}
