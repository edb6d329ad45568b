package redisconn

import (
	"context"
	"fmt"
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
			// A cluster (MUTT_REDIS_CLUSTER): ask its first node; setup
			// disables the default user on every node alike.
			copts, cerr := redis.ParseClusterURL(url)
			if cerr != nil || len(copts.Addrs) == 0 {
				return // Open reported it already
			}
			opts = &redis.Options{Addr: copts.Addrs[0], Username: copts.Username, Password: copts.Password, TLSConfig: copts.TLSConfig}
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

// driverLogger sends go-redis's own messages (e.g. "connection pool: failed
// to dial after 5 attempts", printed to stderr by default, once per attempt)
// to slog as warnings, where repeats are folded (telemetry.NewDedupHandler).
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "err", fmt.Sprintf(format, v...))
}

// SetDriverLogger makes go-redis log through log. The driver's logger is
// process-wide: a process calls this once, at start.
func SetDriverLogger(log *slog.Logger) { redis.SetLogger(driverLogger{log}) }
