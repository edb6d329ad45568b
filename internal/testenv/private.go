package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
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
	t.Cleanup(func() {
		_ = asPostgres("pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	out, err := asPostgres("initdb", "-D", data, "-U", "postgres", "--pwfile", pw, "--auth", "scram-sha-256", "-E", "UTF8").CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = asPostgres("pg_ctl", "-D", data, "-l", filepath.Join(dir, "pg.log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start").CombinedOutput()
	require.NoError(t, err, string(out))
	url := fmt.Sprintf("postgres://postgres:admin@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	return url
}

// FreeAddr returns a loopback address with a port free right now, chosen
// below the kernel's ephemeral range (32768+), so it cannot be taken in the
// meantime by the local end of some outgoing connection — which made tests
// that listen on several pre-chosen ports flaky ("address already in use").
func FreeAddr(t testing.TB) string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000))) // #nosec G404 -- a random port to try, no secret
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 20000..31999")
	return ""
}
