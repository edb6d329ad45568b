package dynconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/redisconn"
)

// CacheTTL is how long a process serves values without re-reading Redis when
// no change notice arrives.
const CacheTTL = 5 * time.Second

// Value is one key's effective value and where it came from.
type Value struct {
	Key    Key
	Raw    string // effective value as text
	Source string // "redis", "default", or "invalid" (Redis holds a bad value; the default is used)
	typed  any
}

type snapshot map[*Key]Value

// Store serves the effective dynamic config of one process.
type Store struct {
	rdb  redis.UniversalClient
	keys keyspace.Keys
	log  *slog.Logger
	cur  atomic.Pointer[snapshot]
	// OnChange, if set before Run, is called after a reload that changed a value.
	OnChange func()
}

// NewStore returns a store holding the defaults until the first Reload.
func NewStore(rdb redis.UniversalClient, keys keyspace.Keys, log *slog.Logger) *Store {
	s := &Store{rdb: rdb, keys: keys, log: log.With("component", "dynconfig")}
	snap := make(snapshot, len(registry))
	for _, k := range registry {
		v, _ := k.Parse(k.Default) // every default parses: TestRegistryDefaultsParse
		snap[k] = Value{Key: *k, Raw: k.Default, Source: "default", typed: v}
	}
	s.cur.Store(&snap)
	return s
}

// Reload reads every known key from Redis with one MGET.
func (s *Store) Reload(ctx context.Context) error {
	names := make([]string, len(registry))
	for i, k := range registry {
		names[i] = s.keys.Config(k.Name)
	}
	vals, err := redisconn.MGet(ctx, s.rdb, names...)
	if err != nil {
		return fmt.Errorf("read dynamic config: %w", err)
	}
	old := *s.cur.Load()
	snap := make(snapshot, len(registry))
	changed := false
	for i, k := range registry {
		v := Value{Key: *k, Raw: k.Default, Source: "default"}
		v.typed, _ = k.Parse(k.Default)
		if raw, ok := vals[i].(string); ok {
			typed, err := k.Parse(raw)
			if err != nil {
				v.Source = "invalid"
				s.log.Warn("invalid dynamic config value in redis, using default", "key", k.Name, "err", err)
			} else {
				v.Raw, v.Source, v.typed = raw, "redis", typed
			}
		}
		if old[k].Raw != v.Raw {
			changed = true
			s.log.Info("dynamic config value", "key", k.Name, "value", v.Raw, "source", v.Source)
		}
		snap[k] = v
	}
	s.cur.Store(&snap)
	if changed && s.OnChange != nil {
		s.OnChange()
	}
	return nil
}

// Run keeps the store current until ctx ends: a reload on every change notice
// and every CacheTTL. Redis outages are logged and retried; the last good
// values stay in force.
func (s *Store) Run(ctx context.Context) error {
	sub := s.rdb.Subscribe(ctx, s.keys.ConfigUpdates())
	defer func() { _ = sub.Close() }()
	ch := sub.Channel() // go-redis re-subscribes after a connection loss
	tick := time.NewTicker(CacheTTL)
	defer tick.Stop()
	for {
		if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dynamic config reload failed, keeping last values", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		case <-tick.C:
		}
	}
}

// get returns the typed value of a registered key. A handle the registry
// does not hold (only the zero handle can be one: every declared handle is
// registered, TestEveryHandleIsRegistered) is a programming error that would
// otherwise read as zero, which for moog_rate_limit means unlimited.
func (s *Store) get(k *Key) any {
	v, ok := (*s.cur.Load())[k]
	if !ok {
		panic("dynconfig: read through a handle of no registered key")
	}
	return v.typed
}

// Int returns an Int key's value.
func (s *Store) Int(k IntKey) int64 { v, _ := s.get(k.k).(int64); return v }

// Duration returns a duration key's value.
func (s *Store) Duration(k DurationKey) time.Duration {
	v, _ := s.get(k.k).(int64)
	return time.Duration(v) * k.unit
}

// String returns a String key's value.
func (s *Store) String(k StringKey) string { v, _ := s.get(k.k).(string); return v }

// Effective lists every key's current value, sorted by name.
func (s *Store) Effective() []Value {
	snap := *s.cur.Load()
	out := make([]Value, 0, len(snap))
	for _, v := range snap {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Value) int { return strings.Compare(a.Key.Name, b.Key.Name) })
	return out
}

// ErrUnknownKey is returned for a name not in the registry.
var ErrUnknownKey = errors.New("unknown dynamic config key")

// Set validates a value, stores it and announces it on mutt:config:updates in
// one Redis transaction.
func Set(ctx context.Context, rdb redis.Cmdable, keys keyspace.Keys, name, value string) error {
	k, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrUnknownKey)
	}
	if _, err := k.Parse(value); err != nil {
		return err
	}
	// One MULTI/EXEC: a value nobody was told about (SET done, PUBLISH
	// refused) would make the caller report "nothing changed" wrongly.
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, keys.Config(name), value, 0)
		p.Publish(ctx, keys.ConfigUpdates(), name)
		return nil
	}); err != nil {
		return fmt.Errorf("set and announce %s: %w", name, err)
	}
	return nil
}

// InitAction is what Init did (or would do) for one key.
type InitAction struct {
	Key    string
	Value  string
	From   string // env variable name, or "default"
	Action string // "set", "kept" (an operator's value exists), "would set"
}

// Init seeds Redis for a first deploy: every known key gets the value of its
// environment variable, or its default, unless Redis already holds a value
// (SET NX), so values operators set are never overwritten. With dryRun nothing
// is written. Invalid environment values are an error naming the variable.
func Init(ctx context.Context, rdb redis.Cmdable, keys keyspace.Keys, lookupEnv func(string) (string, bool), dryRun bool, out io.Writer) ([]InitAction, error) {
	var acts []InitAction
	var errs []error
	for _, k := range Keys() {
		val, from := k.Default, "default"
		for _, env := range k.Env {
			if v, ok := lookupEnv(env); ok && v != "" {
				val, from = v, env
				break
			}
		}
		if _, err := k.Parse(val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", from, err))
			continue
		}
		acts = append(acts, InitAction{Key: k.Name, Value: val, From: from})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err // nothing written
	}
	for i := range acts {
		act := &acts[i]
		if dryRun {
			exists, err := rdb.Exists(ctx, keys.Config(act.Key)).Result()
			if err != nil {
				return nil, fmt.Errorf("check %s: %w", act.Key, err)
			}
			act.Action = "would set"
			if exists > 0 {
				act.Action = "kept"
			}
		} else {
			ok, err := rdb.SetNX(ctx, keys.Config(act.Key), act.Value, 0).Result()
			if err != nil {
				return nil, fmt.Errorf("seed %s: %w", act.Key, err)
			}
			act.Action = "kept"
			if ok {
				act.Action = "set"
			}
		}
		if out != nil {
			fmt.Fprintf(out, "%-10s %-32s %-12s (from %s)\n", act.Action, act.Key, act.Value, act.From)
		}
	}
	if !dryRun {
		if err := rdb.Publish(ctx, keys.ConfigUpdates(), "*").Err(); err != nil {
			return acts, fmt.Errorf("announce config init: %w", err)
		}
	}
	return acts, nil
}
