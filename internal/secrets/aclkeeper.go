package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisUserCheckInterval is how often a RedisUserKeeper looks for its
// user unless told otherwise.
const DefaultRedisUserCheckInterval = 10 * time.Second

// RedisUserKeeperOptions configure a RedisUserKeeper.
type RedisUserKeeperOptions struct {
	Admin    redis.UniversalClient // may run ACL GETUSER/SETUSER/SAVE (REDIS_ADMIN_URL)
	User     string                // REDIS_USERNAME
	Prefix   string                // MUTT_REDIS_PREFIX: the keys and channels the user may touch
	Provider Provider              // holds REDIS_PASS_CURRENT (and during a rotation NEXT/PREVIOUS)
	Interval time.Duration         // DefaultRedisUserCheckInterval when zero
	Log      *slog.Logger
}

// RedisUserKeeper re-asserts MUTT's Redis ACL user: a Redis that keeps its
// ACL in memory only (no aclfile, no configuration file) forgets the user
// when it restarts, and every role then fails to log in until the user is
// back. The keeper runs in the worker, the one process with the admin
// connection; it looks the user up every Interval (ACL GETUSER, cheap) and
// only when it is missing reads the provider and re-creates it with every
// password the provider holds (EnsureRedisUser), so a rotation in flight
// keeps both of its passwords.
type RedisUserKeeper struct{ o RedisUserKeeperOptions }

// NewRedisUserKeeper checks the options.
func NewRedisUserKeeper(o RedisUserKeeperOptions) (*RedisUserKeeper, error) {
	switch {
	case o.Admin == nil:
		return nil, errors.New("redis user keeper: no admin client (REDIS_ADMIN_URL)")
	case o.Provider == nil:
		return nil, errors.New("redis user keeper: no secrets provider")
	case o.User == "" || o.User == "default":
		return nil, fmt.Errorf("REDIS_USERNAME: %q is not a dedicated ACL user", o.User)
	case o.Prefix == "":
		return nil, errors.New("MUTT_REDIS_PREFIX: is empty")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultRedisUserCheckInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &RedisUserKeeper{o: o}, nil
}

// Run checks at once, then every Interval, until ctx ends. Failures are
// logged and retried at the next tick; Redis being down is not the keeper's
// business.
func (k *RedisUserKeeper) Run(ctx context.Context) error {
	tick := time.NewTicker(k.o.Interval)
	defer tick.Stop()
	for {
		if _, err := k.Check(ctx); err != nil && ctx.Err() == nil {
			k.o.Log.Warn("check the redis ACL user", "user", k.o.User, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Check re-creates the user if Redis lost it and says whether it did.
func (k *RedisUserKeeper) Check(ctx context.Context) (bool, error) {
	var mu sync.Mutex
	missing := false
	err := ForEachRedisNode(ctx, k.o.Admin, func(ctx context.Context, n redis.UniversalClient) error {
		u, err := InspectRedisUser(ctx, n, k.o.User)
		if err == nil && !u.Exists {
			mu.Lock()
			missing = true
			mu.Unlock()
		}
		return err
	})
	if err != nil || !missing {
		return false, err
	}
	s, err := k.o.Provider.Read(ctx)
	if err != nil {
		return false, fmt.Errorf("read the redis passwords from %s: %w", k.o.Provider.Name(), err)
	}
	created, persisted, err := EnsureRedisUser(ctx, k.o.Admin, k.o.User, k.o.Prefix,
		s.Get(RedisPassCurrent), s.Get(RedisPassNext), s.Get(RedisPassPrevious))
	if !created {
		return false, err
	}
	log := k.o.Log.With("user", k.o.User, "persisted", string(persisted))
	if persisted == ACLNotPersisted {
		log = log.With("advice", ACLPersistenceAdvice)
	}
	log.Warn("redis ACL user was missing (Redis restarted without its ACL users?): re-created it")
	if err != nil {
		return true, err
	}
	// A restart that lost the users also brought the default user back.
	if d, derr := InspectRedisUser(ctx, k.o.Admin, "default"); derr == nil && d.Enabled && d.AllCommands {
		k.o.Log.Warn(DefaultUserWarning, "nopass", d.NoPass)
	}
	return true, nil
}

// DefaultUserWarning is logged when Redis's default user can run every command.
const DefaultUserWarning = "the redis default user is enabled and can run every command: whoever reaches Redis " +
	"with its password (or none, when nopass) bypasses MUTT's ACL user; run mutt setup --disable-default-user " +
	"(docs/SECRET_ROTATION_PROCEDURE.md)"
