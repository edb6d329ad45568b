package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func freePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	p, _ := strconv.Atoi(port)
	return p
}

// PrivateRedis starts a redis-server of this test's own on a free port (so a
// test may change its ACL users or stop it) and returns its address. The
// default user has no password; stopped at cleanup.
func PrivateRedis(t testing.TB) string {
	t.Helper()
	NeedsServices(t, "redis-server")
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log")) // #nosec G204 -- test helper starting redis-server with arguments it builds
	require.NoError(t, cmd.Start(), "redis-server must be installed (make test installs it)")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = c.Close() }()
	require.Eventually(t, func() bool { return c.Ping(context.Background()).Err() == nil }, 10*time.Second, 20*time.Millisecond)
	return addr
}

// PrivatePostgres starts a PostgreSQL cluster of this test's own on a free
// port with password (SCRAM) authentication — unlike the shared server, which
// trusts every local connection — and returns the superuser's URL (user
// postgres, password "admin"). Stopped and removed at cleanup. Takes a few
// seconds; use it only where passwords matter.
func PrivatePostgres(t testing.TB) string {
	t.Helper()
	return StartPostgres(t).URL
}

// PostgresServer is a private PostgreSQL cluster a test may stop and start
// again (same port and data directory), as a restart or an outage would.
type PostgresServer struct {
	URL  string // the superuser's URL (user postgres, password "admin")
	Dir  string // holds the data directory and the server's log (pg.log)
	data string
	port int
	run  func(name string, args ...string) *exec.Cmd
}

// StartPostgres starts a private PostgreSQL cluster (see PrivatePostgres).
// Stopped and removed at cleanup.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	NeedsServices(t, "the PostgreSQL server binaries")
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	require.NotEmpty(t, bins, "PostgreSQL server binaries must be installed (make test installs them)")
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	port := freePort(t)
	dir, err := os.MkdirTemp("", "mutt-pg-*")
	require.NoError(t, err)
	data := filepath.Join(dir, "data")
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("admin\n"), 0o600))
	asPostgres := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 { // initdb refuses to run as root
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...) // #nosec G204 -- test helper running PostgreSQL binaries found on this machine
		}
		return exec.Command(filepath.Join(bin, name), args...) // #nosec G204 -- test helper running PostgreSQL binaries found on this machine
	}
	if os.Geteuid() == 0 {
		require.NoError(t, exec.Command("chown", "-R", "postgres:postgres", dir).Run()) // #nosec G204 -- test helper, fixed chown of its own temp dir
	}
	s := &PostgresServer{Dir: dir, data: data, port: port, run: asPostgres,
		URL: fmt.Sprintf("postgres://postgres:admin@127.0.0.1:%d/postgres?sslmode=disable", port)}
	t.Cleanup(func() {
		_ = s.Stop("immediate")
		_ = os.RemoveAll(dir)
	})
	out, err := asPostgres("initdb", "-D", data, "-U", "postgres", "--pwfile", pw, "--auth", "scram-sha-256", "-E", "UTF8").CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, s.Start())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	return s
}

// Start starts the server (again) and waits until it accepts connections.
func (s *PostgresServer) Start() error {
	out, err := s.run("pg_ctl", "-D", s.data, "-l", filepath.Join(s.Dir, "pg.log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.Dir), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s", err, out)
	}
	return nil
}

// Stop stops the server with pg_ctl's shutdown mode: "fast" (a clean
// shutdown that disconnects every client) or "immediate" (no checkpoint, as
// a crash; the next start recovers from the WAL).
func (s *PostgresServer) Stop(mode string) error {
	out, err := s.run("pg_ctl", "-D", s.data, "-m", mode, "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w: %s", mode, err, out)
	}
	return nil
}

// RedisServerOptions choose how StartRedis runs its server.
type RedisServerOptions struct {
	// AOF turns on the append-only file with fsync at every write
	// (--appendonly yes --appendfsync always), so a kill -9 loses nothing.
	AOF bool
	// AppendFsync, with AOF, replaces "always" ("everysec": a kill -9 may
	// lose the last second or two of writes).
	AppendFsync string
	// ACLFile gives the server an (initially empty) aclfile in its
	// directory: ACL SAVE writes it and a restart loads it.
	ACLFile bool
	// ConfigFile starts the server from a configuration file in its
	// directory, so CONFIG REWRITE can store ACL users there.
	ConfigFile bool
	// Env is added to the server's environment at every start (e.g. an
	// LD_PRELOAD library that watches its fsyncs, internal/chaos).
	Env []string
}

// RedisServer is a private redis-server a test may kill -9 and start again
// on the same port and directory. Stopped at cleanup.
type RedisServer struct {
	Addr string
	Dir  string
	args []string
	env  []string
	cmd  *exec.Cmd
	t    testing.TB
}

// StartRedis starts a private redis-server as o says and waits until it
// answers. Its default user has no password.
func StartRedis(t testing.TB, o RedisServerOptions) *RedisServer {
	t.Helper()
	NeedsServices(t, "redis-server")
	port := freePort(t)
	dir := t.TempDir()
	settings := [][2]string{{"bind", "127.0.0.1"}, {"port", strconv.Itoa(port)}, {"save", `""`},
		{"dir", dir}, {"logfile", filepath.Join(dir, "redis.log")}, {"appendonly", "no"}}
	if o.AOF {
		fsync := "always"
		if o.AppendFsync != "" {
			fsync = o.AppendFsync
		}
		settings = append(settings, [2]string{"appendonly", "yes"}, [2]string{"appendfsync", fsync})
	}
	if o.ACLFile {
		acl := filepath.Join(dir, "users.acl")
		require.NoError(t, os.WriteFile(acl, nil, 0o600))
		settings = append(settings, [2]string{"aclfile", acl})
	}
	var args []string
	if o.ConfigFile {
		var conf []byte
		for _, s := range settings {
			conf = fmt.Appendf(conf, "%s %s\n", s[0], s[1])
		}
		path := filepath.Join(dir, "redis.conf")
		require.NoError(t, os.WriteFile(path, conf, 0o600))
		args = []string{path}
	} else {
		for _, s := range settings {
			v := s[1]
			if v == `""` {
				v = ""
			}
			args = append(args, "--"+s[0], v)
		}
	}
	r := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, args: args, env: o.Env, t: t}
	t.Cleanup(func() {
		if r.cmd != nil {
			r.Kill()
		}
	})
	r.Start()
	return r
}

// Start starts the server (again) and waits until it answers, even if only
// to say that authentication is required.
func (r *RedisServer) Start() {
	r.t.Helper()
	require.Nil(r.t, r.cmd, "redis-server is already running")
	cmd := exec.Command("redis-server", r.args...) // #nosec G204 -- tests only: the test's own redis-server arguments
	if len(r.env) > 0 {
		cmd.Env = append(os.Environ(), r.env...)
	}
	require.NoError(r.t, cmd.Start(), "redis-server must be installed (make test installs it)")
	r.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Protocol: 2, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	require.EventuallyWithT(r.t, func(ct *assert.CollectT) {
		err := c.Ping(context.Background()).Err()
		if err != nil && strings.Contains(err.Error(), "NOAUTH") {
			err = nil
		}
		assert.NoError(ct, err)
	}, 10*time.Second, 20*time.Millisecond, "redis-server answers (log: %s)", filepath.Join(r.Dir, "redis.log"))
}

// Kill stops the server with SIGKILL, as a crash would.
func (r *RedisServer) Kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Client is a client of this server's default user, closed at cleanup.
func (r *RedisServer) Client(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// RedisUsedMemory is the server's used_memory (INFO memory), in bytes: what
// maxmemory is compared with.
func RedisUsedMemory(t testing.TB, rdb redis.Cmdable) int64 {
	t.Helper()
	info, err := rdb.InfoMap(context.Background(), "memory").Result()
	require.NoError(t, err)
	n, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	require.NoError(t, err, "INFO memory's used_memory")
	return n
}
