package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
)

// AckTTL is how long the acks of one notice are kept.
const AckTTL = time.Hour

// DefaultWatchInterval is how often a Watcher re-reads the provider without
// a notice (a lost notice, a change made by hand in Vault).
const DefaultWatchInterval = 60 * time.Second

// WatcherOptions build a Watcher.
type WatcherOptions struct {
	Redis redis.UniversalClient
	Keys  keyspace.Keys
	Cache *Cache
	// Instance is what this process advertises; Instance.Uses says which
	// targets' notices it must prove (others are acked without a check).
	Instance Instance
	// Checks prove, per target, that a NEW connection opens with the
	// "current" or "next" credential (redisconn.CheckLogin,
	// postgres.CheckLogin) — never a pooled one. API-key targets need none:
	// the default check is that the cache holds the key the notice's
	// fingerprint names (services read accepted keys from the cache).
	Checks map[string]func(ctx context.Context, which string) error
	// Resets, per target, run after a "promoted" notice was handled, e.g.
	// the pgxpool's Reset so idle connections reconnect with CURRENT.
	Resets map[string]func()
	Log    *slog.Logger
	// Interval of the periodic re-read; DefaultWatchInterval when zero.
	Interval time.Duration
}

// Watcher keeps a process's Cache current and answers rotation notices.
type Watcher struct {
	o WatcherOptions
}

// NewWatcher checks the options.
func NewWatcher(o WatcherOptions) (*Watcher, error) {
	switch {
	case o.Redis == nil:
		return nil, errors.New("secrets watcher: Redis is required")
	case o.Cache == nil:
		return nil, errors.New("secrets watcher: Cache is required")
	case o.Keys.Prefix == "":
		return nil, errors.New("secrets watcher: Keys must come from keyspace.New")
	case o.Instance.ID == "":
		return nil, errors.New("secrets watcher: Instance.ID is required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultWatchInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Instance.Started.IsZero() {
		o.Instance.Started = time.Now().UTC()
	}
	return &Watcher{o: o}, nil
}

// Run subscribes to rotation notices, then advertises the instance (so an
// instance that is listed is already listening), refreshes the
// advertisement every InstanceTTL/3, re-reads the secrets every Interval,
// and answers every notice, until ctx ends. The advertisement is deleted on
// the way out.
func (w *Watcher) Run(ctx context.Context) error {
	sub := w.o.Redis.Subscribe(ctx, w.o.Keys.SecretsRotated())
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return fmt.Errorf("subscribe to %s: %w", w.o.Keys.SecretsRotated(), err)
	}
	if err := w.advertise(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.o.Redis.Del(dctx, w.o.Keys.Instance(w.o.Instance.ID)).Err(); err != nil {
			w.o.Log.Warn("remove instance advertisement", "err", err)
		}
	}()
	refresh := time.NewTicker(InstanceTTL / 3)
	defer refresh.Stop()
	reload := time.NewTicker(w.o.Interval)
	defer reload.Stop()
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
			if err := w.advertise(ctx); err != nil && ctx.Err() == nil {
				w.o.Log.Warn("refresh instance advertisement", "err", err)
			}
		case <-reload.C:
			if err := w.o.Cache.Reload(ctx); err != nil && ctx.Err() == nil {
				w.o.Log.Warn("periodic secrets reload", "err", err)
			}
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			var n Notice
			if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
				w.o.Log.Warn("ignore malformed rotation notice", "err", err)
				continue
			}
			if err := w.Handle(ctx, n); err != nil && ctx.Err() == nil {
				w.o.Log.Warn("answer rotation notice", "rotation_id", n.RotationID, "err", err)
			}
		}
	}
}

func (w *Watcher) advertise(ctx context.Context) error {
	if err := w.o.Redis.Set(ctx, w.o.Keys.Instance(w.o.Instance.ID), Marshal(w.o.Instance), InstanceTTL).Err(); err != nil {
		return fmt.Errorf("advertise instance %s: %w", w.o.Instance.ID, err)
	}
	return nil
}

// Handle answers one notice: reload the cache, prove the credential when
// this instance uses the target, and write the Ack. The returned error is
// only about writing the ack; a failed check is an Ack with OK false.
func (w *Watcher) Handle(ctx context.Context, n Notice) error {
	ack := Ack{Instance: w.o.Instance.ID, Role: w.o.Instance.Role, OK: true}
	err := w.o.Cache.Reload(ctx)
	if err == nil && slices.Contains(w.o.Instance.Uses, n.Target) {
		err = w.check(ctx, n)
	}
	snap := w.o.Cache.Snapshot()
	ack.Version = snap.Version
	if err != nil {
		ack.OK = false
		ack.Error = redact(err.Error(), snap)
	}
	ack.At = time.Now().UTC()
	w.o.Log.Info("rotation notice answered", "rotation_id", n.RotationID, "target", n.Target,
		"stage", n.Stage, "expect", n.Expect, "ok", ack.OK, "err", ack.Error)
	key := w.o.Keys.RotationAcks(n.AckKey())
	_, perr := w.o.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, ack.Instance, Marshal(ack))
		p.Expire(ctx, key, AckTTL)
		return nil
	})
	if perr != nil {
		return fmt.Errorf("write ack to %s: %w", key, perr)
	}
	if ack.OK && n.Stage == "promoted" {
		if reset := w.o.Resets[n.Target]; reset != nil {
			reset()
		}
	}
	return nil
}

// targetSlots are the CURRENT and NEXT cache keys of each target.
var targetSlots = map[string][2]string{
	TargetRedis:        {RedisPassCurrent, RedisPassNext},
	TargetPostgres:     {DBPassCurrent, DBPassNext},
	TargetIngestAPIKey: {IngestAPIKey, IngestAPIKeyNext},
	TargetWebUIAPIKey:  {WebUIAPIKey, WebUIAPIKeyNext},
}

// check proves the notice's credential: first that the cache holds the value
// the rotation stored (its fingerprint), then, for backends, that a new
// connection opens with it. For API keys the first is the proof: services
// read the accepted keys from the cache per request.
func (w *Watcher) check(ctx context.Context, n Notice) error {
	which := n.Expect
	if which == "" {
		which = "current"
	}
	if which != "current" && which != "next" {
		return fmt.Errorf("notice expects %q: want current or next", which)
	}
	slots, ok := targetSlots[n.Target]
	if !ok {
		return fmt.Errorf("no check configured for target %q", n.Target)
	}
	slot := slots[0]
	if which == "next" {
		slot = slots[1]
	}
	if n.Fingerprint != "" {
		switch got := Fingerprint(w.o.Cache.Get(slot)); {
		case got == "":
			return fmt.Errorf("secrets hold no %s (read version %d)", slot, w.o.Cache.Snapshot().Version)
		case got != n.Fingerprint:
			return fmt.Errorf("secrets hold another %s than the rotation stored (read version %d: a stale read of the provider?)",
				slot, w.o.Cache.Snapshot().Version)
		}
	}
	if f := w.o.Checks[n.Target]; f != nil {
		if err := f(ctx, which); err != nil {
			return fmt.Errorf("check %s with the %s credential: %w", n.Target, which, err)
		}
		return nil
	}
	if n.Target != TargetIngestAPIKey && n.Target != TargetWebUIAPIKey {
		return fmt.Errorf("no check configured for target %q", n.Target)
	}
	if w.o.Cache.Get(slot) == "" {
		return fmt.Errorf("secrets hold no %s", slot)
	}
	return nil
}

// redact replaces every secret value in msg, so no driver error that happens
// to echo a credential can leak it into Redis.
func redact(msg string, s Snapshot) string {
	for k, v := range s.Values {
		if v != "" && k != DBUser {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}
