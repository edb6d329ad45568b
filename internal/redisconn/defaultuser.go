package redisconn

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// WarnIfDefaultUserOpen logs, once per call (a process calls it at start),
// a warning when Redis's default user is enabled and can run every command:
// it bypasses the dedicated ACL user setup creates. It asks through admin
// when given (the worker's REDIS_ADMIN_URL), otherwise through one fresh
// connection with url's own credentials — usually none, so it asks as the
// default user itself, which can answer only when it is open to anyone. A
// connection that may not read ACLs (NOPERM, NOAUTH) is no failure: it says
// so at debug level.
func WarnIfDefaultUserOpen(ctx context.Context, url string, admin redis.UniversalClient, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c := admin
	if c == nil {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return // Open reported it already
		}
		opts.MaxRetries, opts.DialTimeout, opts.PoolSize = -1, 2*time.Second, 1
		probe := redis.NewClient(opts)
		defer func() { _ = probe.Close() }()
		c = probe
	}
	u, err := secrets.InspectRedisUser(ctx, c, "default")
	switch {
	case err != nil:
		log.Debug("cannot tell whether the redis default user is restricted (this connection may not read ACLs)", "err", err)
	case u.Enabled && u.AllCommands:
		log.Warn(secrets.DefaultUserWarning, "nopass", u.NoPass)
	default:
		log.Debug("the redis default user is restricted", "enabled", u.Enabled, "all_commands", u.AllCommands)
	}
}
