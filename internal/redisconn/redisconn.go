package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
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
	// Cluster (MUTT_REDIS_CLUSTER) reads URL in go-redis's cluster form
	// (redis://host1:port1?addr=host2:port2&addr=host3:port3,
	// redis.ParseClusterURL) and opens a *redis.ClusterClient: commands go to
	// the primary of their key's slot and follow MOVED/ASK redirects, and the
	// credentials below are used for every node.
	Cluster bool
	// Username is the ACL user (REDIS_USERNAME, "mutt" by default in the
	// service config). Empty: the URL's user, or the default user.
	Username string
	// Secrets, when set, supplies REDIS_PASS_CURRENT and REDIS_PASS_NEXT for
	// every new connection. Nil: the URL's credentials, as before rotation
	// existed.
	Secrets *secrets.Cache
	// Registerer receives mutt_secret_credential_*; nil keeps them private.
	Registerer prometheus.Registerer
	// AuthWait is how long Open keeps retrying, with backoff, when Redis
	// refuses the login (a user lost in a Redis restart comes back when the
	// worker or setup re-creates it); zero fails at once. Log receives
	// those retries.
	AuthWait time.Duration
	Log      *slog.Logger
}

// Open parses the URL, applies timeouts, plugs in the dual-password dialer
// when Secrets are set, and checks the connection with PING (on a cluster:
// on every primary and replica, so a node that refuses the login is named
// at start, not at the first command routed to it).
func Open(ctx context.Context, o Options) (redis.UniversalClient, error) {
	if o.Cluster {
		return openCluster(ctx, o)
	}
	if strings.Contains(o.URL, "addr=") {
		return nil, errors.New("REDIS_URL: lists several nodes (addr=…), which is the Redis Cluster form: set MUTT_REDIS_CLUSTER=true")
	}
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	applyDefaults(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolSize)
	if err := useSecrets(o, opts, &opts.Dialer, &opts.Username, &opts.Password,
		&opts.CredentialsProvider, &opts.CredentialsProviderContext); err != nil {
		return nil, err
	}
	c := redis.NewClient(opts)
	ping := func(ctx context.Context) error { return c.Ping(ctx).Err() }
	if err := checkOpen(ctx, o, c, ping, opts.Addr); err != nil {
		return nil, err
	}
	return c, nil
}

// openCluster is Open for MUTT_REDIS_CLUSTER=true.
func openCluster(ctx context.Context, o Options) (redis.UniversalClient, error) {
	opts, err := redis.ParseClusterURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w (with MUTT_REDIS_CLUSTER=true it is redis://host1:port1?addr=host2:port2&addr=host3:port3)", err)
	}
	applyDefaults(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolSize)
	if err := useSecrets(o, &redis.Options{DialTimeout: opts.DialTimeout, TLSConfig: opts.TLSConfig}, &opts.Dialer,
		&opts.Username, &opts.Password, &opts.CredentialsProvider, &opts.CredentialsProviderContext); err != nil {
		return nil, err
	}
	c := redis.NewClusterClient(opts)
	ping := func(ctx context.Context) error {
		return secrets.ForEachRedisNode(ctx, c, func(ctx context.Context, n redis.UniversalClient) error {
			return n.Ping(ctx).Err()
		})
	}
	if err := checkOpen(ctx, o, c, ping, strings.Join(opts.Addrs, ",")); err != nil {
		return nil, err
	}
	return c, nil
}

// useSecrets, when o.Secrets is set, puts the dual-password dialer over
// base's in *dialer and clears the static credentials it takes over (the
// fields of redis.Options or redis.ClusterOptions).
func useSecrets(o Options, base *redis.Options, dialer *func(ctx context.Context, network, addr string) (net.Conn, error),
	username, password *string, provider *func() (string, string), providerCtx *func(context.Context) (string, string, error)) error {
	if o.Secrets == nil {
		return nil
	}
	a, err := newAuthenticator(o, *username, *password, base)
	if err != nil {
		return err
	}
	*dialer = a.dialContext
	*username, *password = "", ""
	*provider, *providerCtx = nil, nil
	return nil
}

// applyDefaults gives every client production timeouts: no read may hang
// on a half-open connection.
func applyDefaults(dial, read, write *time.Duration, pool *int) {
	for _, d := range []*time.Duration{dial, read, write} {
		if *d == 0 {
			*d = 5 * time.Second
		}
	}
	if *pool == 0 {
		*pool = 64
	}
}

// newAuthenticator builds the dual-password dialer over base's dialer.
//
// Why a Dialer and not go-redis's CredentialsProvider: go-redis sends the
// provider's one password in HELLO/AUTH and, when the server rejects it,
// fails the connection (and the command waiting for it). A provider cannot
// say "try the other one" within the same handshake, so in the window
// between a backend dropping CURRENT and this process learning of the
// promotion, commands would fail. This dialer authenticates the raw
// connection itself (RESP AUTH), tries CURRENT then NEXT on -WRONGPASS, and
// hands go-redis an already authenticated connection; go-redis's own
// username/password stay empty so it only sends HELLO (no AUTH) on top.
func newAuthenticator(o Options, urlUser, urlPassword string, base *redis.Options) (*authenticator, error) {
	m, err := secrets.NewCredMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	user := o.Username
	if user == "" {
		user = urlUser
	}
	return &authenticator{
		user: user, urlPassword: urlPassword, cache: o.Secrets, m: m, timeout: base.DialTimeout,
		dial: redis.NewDialer(base),
	}, nil
}

// checkOpen pings (5s per attempt), waits for a refused login as o.AuthWait
// says, and closes c on failure.
func checkOpen(ctx context.Context, o Options, c redis.UniversalClient, pingCtx func(context.Context) error, addr string) error {
	ping := func() error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return pingCtx(pctx)
	}
	err := ping()
	if err != nil && o.AuthWait > 0 && IsAuthError(err) {
		err = waitForLogin(ctx, o, ping, err)
	}
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("connect to redis at %s: %w", addr, err)
	}
	return nil
}

// waitForLogin retries a refused login with exponential backoff for up to
// o.AuthWait: the worker re-creates a user Redis lost, and an operator may
// be rerunning setup. Other errors end the wait.
func waitForLogin(ctx context.Context, o Options, ping func() error, first error) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 500*time.Millisecond, 10*time.Second, o.AuthWait
	err := first
	return backoff.RetryNotify(func() error {
		if err != nil {
			e := err
			err = nil
			return e // the first attempt's answer, already known
		}
		if err := ping(); err != nil {
			if !IsAuthError(err) {
				return backoff.Permanent(err)
			}
			return err
		}
		return nil
	}, backoff.WithContext(b, ctx), func(err error, next time.Duration) {
		log.Warn("redis refused the login; retrying", "err", err, "retry_in", next.Round(time.Millisecond), "gives_up_after", o.AuthWait)
	})
}

// CheckLogin opens one new connection to the server of url (its own
// credentials are ignored) and authenticates as user with password: the
// rotation check that a credential really works, without touching any pool.
// An empty password only checks the server answers PING. With cluster
// (MUTT_REDIS_CLUSTER) it logs in to every primary and replica the cluster
// lists, one connection each: ACL users live on each node, so a password
// one node accepts proves nothing of the others.
func CheckLogin(ctx context.Context, url string, cluster bool, user, password string) error {
	if !cluster {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		return CheckLoginAt(ctx, opts, user, password)
	}
	copts, err := redis.ParseClusterURL(url)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	addrs, err := clusterNodes(ctx, copts, user, password)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range addrs {
		err := CheckLoginAt(ctx, &redis.Options{Addr: a, DialTimeout: copts.DialTimeout, TLSConfig: copts.TLSConfig}, user, password)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clusterNodes asks the first seed of opts that answers for every node of
// the cluster (CLUSTER SLOTS: primaries and replicas), logged in as user.
func clusterNodes(ctx context.Context, opts *redis.ClusterOptions, user, password string) ([]string, error) {
	var errs []error
	for _, seed := range opts.Addrs {
		c := redis.NewClient(&redis.Options{Addr: seed, Username: user, Password: password, TLSConfig: opts.TLSConfig,
			DialTimeout: opts.DialTimeout, MaxRetries: -1, PoolSize: 1, Protocol: 2})
		//lint:ignore SA1019 CLUSTER SLOTS works on Redis 6 as well, and is what go-redis's own cluster client reads
		slots, err := c.ClusterSlots(ctx).Result()
		_ = c.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("list the nodes of the redis cluster at %s as %q: %w", seed, user, err))
			continue
		}
		var out []string
		for _, s := range slots {
			for _, n := range s.Nodes {
				if !slices.Contains(out, n.Addr) {
					out = append(out, n.Addr)
				}
			}
		}
		slices.Sort(out)
		return out, nil
	}
	return nil, errors.Join(errs...)
}

// CheckLoginAt is CheckLogin against the one server opts names (Addr,
// TLSConfig, DialTimeout; its credentials are ignored).
func CheckLoginAt(ctx context.Context, opts *redis.Options, user, password string) error {
	timeout := opts.DialTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	network := opts.Network
	if network == "" {
		network = "tcp"
	}
	conn, err := redis.NewDialer(&redis.Options{DialTimeout: timeout, TLSConfig: opts.TLSConfig})(ctx, network, opts.Addr)
	if err != nil {
		return fmt.Errorf("dial redis at %s: %w", opts.Addr, err)
	}
	defer func() { _ = conn.Close() }()
	setDeadline(ctx, conn, timeout)
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
	setDeadline(ctx, conn, a.timeout)
	if len(cands) == 0 {
		// No password to give: fine on a password-less server, as without
		// secrets; one that wants a login gets a message saying so.
		line, err := roundTrip(conn, []string{"PING"})
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("ping redis at %s: %w", addr, err)
		}
		if strings.HasPrefix(line, "-NOAUTH") {
			_ = conn.Close()
			return nil, &AuthError{Addr: addr, User: a.user}
		}
		_ = conn.SetDeadline(time.Time{})
		return conn, nil
	}
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
	return nil, &AuthError{Addr: addr, User: a.user, Rejected: rejected}
}

// AuthError is a login Redis refused: the user does not exist, or none of
// its passwords was accepted, or Redis wants a login and no password is
// configured. Its message says what is wrong and what to do, because it is
// what every role logs when Redis lost its ACL users.
type AuthError struct {
	Addr, User string
	// Rejected names the passwords tried (current, next, url); empty when
	// there was none to try.
	Rejected []string
}

func (e *AuthError) Error() string {
	user := e.User
	if user == "" {
		user = "default"
	}
	if len(e.Rejected) == 0 {
		return fmt.Sprintf("redis at %s requires a login and no password is configured for user %q: run mutt setup "+
			"(it stores REDIS_PASS_CURRENT in the secrets provider and creates the user)", e.Addr, user)
	}
	return fmt.Sprintf("redis user %q does not exist or its password was refused at %s (every password was rejected: %s) — "+
		"was Redis restarted without an aclfile? run mutt setup (docs/runbooks/hot-path.md)", user, e.Addr, strings.Join(e.Rejected, ", "))
}

// IsAuthError says whether err is (or wraps) a refused login, as an
// *AuthError or as Redis's own WRONGPASS/NOAUTH reply.
func IsAuthError(err error) bool {
	var ae *AuthError
	if errors.As(err, &ae) {
		return true
	}
	return err != nil && (strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), "NOAUTH"))
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
