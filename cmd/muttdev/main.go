// Command muttdev is the operator's and developer's companion to mutt: set a
// machine up, look at the pipeline's state, change dynamic config and rules
// through the admin API (so every change is audited), read logs, rotate
// secrets, manage dead letters and the database, and run the tests.
//
// Every command answers --help, prints text or (--output json) one JSON
// document for scripts, and exits with a documented code (exitCodesHelp).
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// quietRedis drops go-redis's internal log lines (printed straight to stderr).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func main() {
	redis.SetLogger(quietRedis{}) // connection failures are reported once, as an exit code and message
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], environ(os.Environ()), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// environ turns os.Environ into the map every command reads its settings from
// (tests pass their own, so parallel environments never share a process env).
func environ(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		if k, v, ok := strings.Cut(e, "="); ok {
			m[k] = v
		}
	}
	return m
}
