package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// result is one in-process muttdev run.
type result struct {
	code           int
	stdout, stderr string
}

// muttdev runs the real command tree in-process with env and stdin.
func muttdev(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return muttdevCtx(context.Background(), t, env, stdin, args...)
}

func muttdevCtx(ctx context.Context, t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(ctx, args, env, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// walk calls f with the argument path of every command below root (root itself included).
func walk(c *cobra.Command, path []string, f func(path []string, c *cobra.Command)) {
	f(path, c)
	for _, sub := range c.Commands() {
		walk(sub, append(append([]string{}, path...), sub.Name()), f)
	}
}

func commandPaths(t *testing.T) [][]string {
	t.Helper()
	var paths [][]string
	root := newRoot(&app{})
	root.InitDefaultHelpCmd() // cobra adds these two at Execute
	root.InitDefaultCompletionCmd()
	walk(root, nil, func(p []string, _ *cobra.Command) { paths = append(paths, p) })
	require.Greater(t, len(paths), 25, "the whole tree is walked")
	return paths
}

// unreachableEnv points every dependency at a closed port, so a command that
// dialled anything would fail with exit 3, not the expected code.
func unreachableEnv() map[string]string {
	return map[string]string{
		"REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
		"TEMPORAL_ADDRESS": "127.0.0.1:1", "MUTT_API_URL": "http://127.0.0.1:1", "PATH": os.Getenv("PATH"),
	}
}

// TestEveryCommandAnswersHelp: --help on every command (found by walking the
// tree, so new commands are covered) prints its usage and exits 0, without
// dialling anything.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	for _, p := range commandPaths(t) {
		for _, h := range []string{"--help", "-h"} {
			r := muttdev(t, unreachableEnv(), "", append(append([]string{}, p...), h)...)
			require.Equal(t, exitOK, r.code, "muttdev %v %s: %s", p, h, r.stderr)
			require.Contains(t, r.stdout, "Usage:", "muttdev %v %s", p, h)
		}
	}
	r := muttdev(t, unreachableEnv(), "", "--help")
	require.Contains(t, r.stdout, "Exit codes:", "the exit codes are documented in muttdev --help")
	for _, code := range []string{"0  success", "1  failure", "2  usage error", "3  not reachable", "4  refused"} {
		require.Contains(t, r.stdout, code)
	}
	// The bug this replaces: rotate --help dialled Temporal with "--help" as the target.
	r = muttdev(t, unreachableEnv(), "", "rotate", "--help")
	require.Equal(t, exitOK, r.code)
	require.NotContains(t, r.stdout+r.stderr, "not reachable")
}

// TestEveryCommandRejectsUsageErrors: an unknown flag is exit 2 on every
// command, and so are the usage errors each command checks itself, all
// before anything is dialled.
func TestEveryCommandRejectsUsageErrors(t *testing.T) {
	t.Parallel()
	for _, p := range commandPaths(t) {
		r := muttdev(t, unreachableEnv(), "", append(append([]string{}, p...), "--no-such-flag")...)
		require.Equal(t, exitUsage, r.code, "muttdev %v --no-such-flag: %s", p, r.stderr)
		require.Contains(t, r.stderr, "no-such-flag")
	}
	for _, args := range [][]string{
		{}, {"bogus"}, {"config"}, {"config", "bogus"}, {"config", "get"}, {"config", "set", "k"},
		{"config", "set", "unhandled_threshold", "5"}, // no --reason
		{"config", "delete", "unhandled_threshold"},   // no --reason
		{"rotate"}, {"rotate", "bogus"}, {"rotate", "redis", "extra"},
		{"db"}, {"db", "bogus"}, {"dlq"}, {"dlq", "show"}, {"dlq", "show", "bogus"}, {"dlq", "purge", "moog"},
		{"dlq", "replay", "poison"}, {"dlq", "show", "moog", "--count", "0"},
		{"rules"}, {"rules", "import"}, {"rules", "import", "nofile.yaml"},
		{"logs"}, {"logs", "bogus"}, {"logs", "api", "--via", "ssh"},
		{"test", "bogus"}, {"test", "unit", "e2e"},
		{"status", "extra"}, {"--output", "xml", "status"}, {"probe"}, {"probe", "::"},
		{"config", "list", "--api-url", "ftp://x"},
	} {
		r := muttdev(t, unreachableEnv(), "", args...)
		require.Equal(t, exitUsage, r.code, "muttdev %v: %s%s", args, r.stdout, r.stderr)
		require.NotContains(t, r.stderr, "not reachable", "muttdev %v must fail before dialling", args)
	}
	r := muttdev(t, unreachableEnv(), "", "-o", "json", "rotate", "bogus")
	var e struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stderr), &e), r.stderr)
	require.Equal(t, exitUsage, e.ExitCode)
	require.Contains(t, e.Error, "bogus")
}

// TestUnreachableDependenciesExit3: each dependency that does not answer is exit 3.
func TestUnreachableDependenciesExit3(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"status"}, {"config", "list"}, {"config", "set", "unhandled_threshold", "5", "--reason", "x"},
		{"rules", "export"}, {"db", "status"}, {"dlq", "list"}, {"rotate", "redis"}, {"dlq", "replay"},
		{"probe", "http://127.0.0.1:1/health"}, {"logs", "api", "--file", filepath.Join(t.TempDir(), "none.log")},
	} {
		r := muttdev(t, unreachableEnv(), "", args...)
		require.Equal(t, exitUnreachable, r.code, "muttdev %v: %s", args, r.stderr)
	}
}

// TestTestSelection: muttdev test places packages by their tests' imports.
func TestTestSelection(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "GOTOOLCHAIN": os.Getenv("GOTOOLCHAIN"),
		"GOPATH": os.Getenv("GOPATH"), "GOCACHE": os.Getenv("GOCACHE"), "GOMODCACHE": os.Getenv("GOMODCACHE"), "GOFLAGS": os.Getenv("GOFLAGS")}
	sel := map[string][]string{}
	for _, kind := range []string{"unit", "integration", "e2e", "all"} {
		r := muttdev(t, env, "", "-o", "json", "test", kind, "--dry-run", "--run", "TestX", "--", "-v")
		require.Equal(t, exitOK, r.code, r.stderr)
		var out struct {
			Command  []string `json:"command"`
			Packages []string `json:"packages"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
		require.Equal(t, []string{"go", "test", "-count", "1", "-timeout", "15m", "-run", "TestX", "-v"}, out.Command[:9])
		sel[kind] = out.Packages
	}
	require.Equal(t, []string{"github.com/mutt-ops/mutt/test"}, sel["e2e"])
	require.Contains(t, sel["integration"], "github.com/mutt-ops/mutt/api")
	require.Contains(t, sel["unit"], "github.com/mutt-ops/mutt/workflows")
	require.NotContains(t, sel["unit"], "github.com/mutt-ops/mutt/api")
	all := append(append(append([]string{}, sel["unit"]...), sel["integration"]...), sel["e2e"]...)
	sort.Strings(all)
	require.Equal(t, sel["all"], all, "the three selections partition every package with tests")
}

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/muttdev -run %s -update to create it", t.Name())
	require.Equal(t, string(want), got, "golden file %s (go test -update rewrites it)", path)
}

// normaliser replaces what differs between runs with placeholders.
type normaliser struct {
	literal [][2]string
	// volatileKeys are JSON keys whose values vary between runs (times, ids).
	volatileKeys map[string]bool
}

var (
	reTime      = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reDate      = regexp.MustCompile(`\d{4}-\d\d-\d\d( 00:00:00\+00)?`)
	rePartition = regexp.MustCompile(`_p\d{6}`)
	reStreamID  = regexp.MustCompile(`\b\d{13}-\d+\b`)
)

func (n normaliser) json(t *testing.T, s string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	v = n.walk(v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return n.text(b.String())
}

func (n normaliser) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if n.volatileKeys[k] {
				x[k] = "<" + k + ">"
				continue
			}
			x[k] = n.walk(val)
		}
	case []any:
		for i := range x {
			x[i] = n.walk(x[i])
		}
	}
	return v
}

func (n normaliser) text(s string) string {
	for _, l := range n.literal {
		s = strings.ReplaceAll(s, l[0], l[1])
	}
	s = reTime.ReplaceAllString(s, "<time>")
	s = rePartition.ReplaceAllString(s, "_pYYYYMM")
	s = reDate.ReplaceAllString(s, "<date>")
	return reStreamID.ReplaceAllString(s, "<stream-id>")
}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{}) // the unreachable tests would print go-redis's dial errors
	os.Exit(m.Run())
}

func TestStatusTextWithoutDevInstance(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	st := Status{Healthy: true, DevInstanceNote: "`mutt dev` is not running here (no .mutt/dev-state.json)"}
	require.NoError(t, st.text(&b))
	require.Contains(t, b.String(), "dev instance: `mutt dev` is not running here")
}
