package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// DefaultUsername is the dedicated ACL user MUTT connects as when secrets are
// in use (REDIS_USERNAME); secrets.SetupRedisUser creates it.
const DefaultUsername = "mutt"

// Options open a client.
type Options struct {
	URL string // REDIS_URL, redis:// or rediss://
	// Username is the ACL user (REDIS_USERNAME, "mutt" by default in the
	// service config). Empty: the URL's user, or the default user.
	Username string
	// Secrets, when set, supplies REDIS_PASS_CURRENT and REDIS_PASS_NEXT for
	// every new connection. Nil: the URL's credentials, as before rotation
	// existed.
	Secrets *secrets.Cache
	// Registerer receives mutt_secret_credential_*; nil keeps them private.
	Registerer prometheus.Registerer
}

// Open parses the URL, applies timeouts, plugs in the dual-password dialer
// when Secrets are set, and checks the connection with PING.
func Open(ctx context.Context, o Options) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 5 * time.Second // no read may hang on a half-open connection
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = 64
	}
	if o.Secrets != nil {
		m, err := secrets.NewCredMetrics(o.Registerer)
		if err != nil {
			return nil, err
		}
		user := o.Username
		if user == "" {
			user = opts.Username
		}
		// Why a Dialer and not go-redis's CredentialsProvider: go-redis sends
		// the provider's one password in HELLO/AUTH and, when the server
		// rejects it, fails the connection (and the command waiting for it).
		// A provider cannot say "try the other one" within the same
		// handshake, so in the window between a backend dropping CURRENT and
		// this process learning of the promotion, commands would fail. This
		// dialer authenticates the raw connection itself (RESP AUTH), tries
		// CURRENT then NEXT on -WRONGPASS, and hands go-redis an already
		// authenticated connection; go-redis's own username/password stay
		// empty so it only sends HELLO (no AUTH) on top.
		a := &authenticator{
			user: user, urlPassword: opts.Password, cache: o.Secrets, m: m, timeout: opts.DialTimeout,
			dial: redis.NewDialer(opts),
		}
		opts.Dialer = a.dialContext
		opts.Username, opts.Password = "", ""
		opts.CredentialsProvider, opts.CredentialsProviderContext = nil, nil
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w", opts.Addr, err)
	}
	return c, nil
}

// CheckLogin opens one new connection to the server of url (its own
// credentials are ignored) and authenticates as user with password: the
// rotation check that a credential really works, without touching any pool.
// An empty password only checks the server answers PING.
func CheckLogin(ctx context.Context, url, user, password string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	conn, err := redis.NewDialer(opts)(ctx, opts.Network, opts.Addr)
	if err != nil {
		return fmt.Errorf("dial redis at %s: %w", opts.Addr, err)
	}
	defer func() { _ = conn.Close() }()
	setDeadline(ctx, conn, opts.DialTimeout)
	cmd := []string{"PING"}
	if password != "" {
		cmd = authCommand(user, password)
	}
	line, err := roundTrip(conn, cmd)
	if err != nil {
		return fmt.Errorf("log in to redis at %s as %q: %w", opts.Addr, user, err)
	}
	if strings.HasPrefix(line, "-") {
		return fmt.Errorf("log in to redis at %s as %q: %s", opts.Addr, user, line[1:])
	}
	return nil
}

// candidate is one password to try and which secret it came from.
type candidate struct{ password, which string }

type authenticator struct {
	user        string
	urlPassword string
	cache       *secrets.Cache
	m           *secrets.CredMetrics
	timeout     time.Duration
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
}

// candidates are read from the cache at every dial, so a reload is seen by
// the very next connection.
func (a *authenticator) candidates() []candidate {
	s := a.cache.Snapshot()
	var out []candidate
	for _, c := range []candidate{
		{s.Get(secrets.RedisPassCurrent), "current"}, {s.Get(secrets.RedisPassNext), "next"},
	} {
		if c.password != "" && (len(out) == 0 || out[0].password != c.password) {
			out = append(out, c)
		}
	}
	if len(out) == 0 && a.urlPassword != "" {
		out = append(out, candidate{a.urlPassword, ""}) // secrets hold no Redis password: the URL's
	}
	return out
}

func (a *authenticator) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := a.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cands := a.candidates()
	if len(cands) == 0 {
		return conn, nil // password-less server, as without secrets
	}
	setDeadline(ctx, conn, a.timeout)
	var rejected []string
	for _, c := range cands {
		line, err := roundTrip(conn, authCommand(a.user, c.password))
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("authenticate to redis at %s: %w", addr, err)
		}
		if line == "+OK" {
			if c.which != "" {
				a.m.Used.WithLabelValues("redis", c.which).Inc()
			}
			_ = conn.SetDeadline(time.Time{})
			return conn, nil
		}
		a.m.Failures.WithLabelValues("redis").Inc()
		// Only a wrong password is worth another try; any other error
		// (unknown command, no password configured) would repeat.
		if !strings.HasPrefix(line, "-WRONGPASS") {
			_ = conn.Close()
			return nil, fmt.Errorf("authenticate to redis at %s as %q: %s", addr, a.user, line[1:])
		}
		rejected = append(rejected, whichName(c.which))
	}
	_ = conn.Close()
	return nil, fmt.Errorf("authenticate to redis at %s as %q: every password was rejected (%s)",
		addr, a.user, strings.Join(rejected, ", "))
}

func whichName(w string) string {
	if w == "" {
		return "url"
	}
	return w
}

func setDeadline(ctx context.Context, conn net.Conn, timeout time.Duration) {
	d := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
		d = dl
	}
	_ = conn.SetDeadline(d)
}

func authCommand(user, password string) []string {
	if user == "" {
		return []string{"AUTH", password}
	}
	return []string{"AUTH", user, password}
}

// errReplyTooLong guards against a peer that is not Redis.
var errReplyTooLong = errors.New("reply line too long")

// roundTrip writes cmd as a RESP array and reads the one-line reply (+OK or
// -ERR...). The connection is fresh, so nothing else is in flight, and the
// reply is read byte by byte so nothing after it is consumed from the
// connection go-redis will use.
func roundTrip(conn net.Conn, cmd []string) (string, error) {
	buf := make([]byte, 0, 64)
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(cmd)), 10)
	buf = append(buf, '\r', '\n')
	for _, a := range cmd {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, '\r', '\n')
		buf = append(buf, a...)
		buf = append(buf, '\r', '\n')
	}
	if _, err := conn.Write(buf); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	line := make([]byte, 0, 64)
	b := make([]byte, 1)
	for {
		if _, err := conn.Read(b); err != nil {
			return "", fmt.Errorf("read reply: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		if len(line) > 1024 {
			return "", errReplyTooLong
		}
		line = append(line, b[0])
	}
	s := strings.TrimSuffix(string(line), "\r")
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return "", fmt.Errorf("unexpected reply %q", s)
	}
	return s, nil
}
