package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/user"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mutt-ops/mutt/internal/config"
)

// Exit codes scripts can rely on (documented in `muttdev --help` and docs/MUTTDEV.md).
const (
	exitOK          = 0 // the command did what was asked; status found everything healthy
	exitFailure     = 1 // it ran and failed, or status found something unhealthy
	exitUsage       = 2 // bad command line: unknown command or flag, wrong arguments, missing --reason, declined confirmation
	exitUnreachable = 3 // a dependency could not be reached: Redis, PostgreSQL, Temporal or the admin API
	exitRefused     = 4 // the admin API refused the request (4xx: unknown key, invalid value, bad key, not found)
)

const exitCodesHelp = `Exit codes:
  0  success (status: everything healthy)
  1  failure (the operation failed; status: something is unhealthy)
  2  usage error (unknown command or flag, wrong arguments, missing --reason, confirmation declined)
  3  not reachable (Redis, PostgreSQL, Temporal or the admin API did not answer)
  4  refused by the admin API (unknown key, invalid value, wrong API key, not found)`

// exitError carries the exit code of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// unreachable marks a failure to connect to what.
func unreachable(what string, err error) error {
	return &exitError{code: exitUnreachable, err: fmt.Errorf("%s not reachable: %w", what, err)}
}

// classify gives an error from a command's own code its exit code: a marked
// one keeps it, a connection failure is 3, anything else 1.
func classify(err error) *exitError {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
		return &exitError{code: exitUnreachable, err: err}
	}
	return &exitError{code: exitFailure, err: err}
}

// app is what every command shares: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            map[string]string
	output         string // text or json
	apiURL, apiKey string
}

// cfgEnv reads the settings mutt reads, from this invocation's environment.
func (a *app) cfgEnv() *config.Env { return config.FromMap(a.env) }

func (a *app) getenv(names ...string) string {
	for _, n := range names {
		if v := a.env[n]; v != "" {
			return v
		}
	}
	return ""
}

// emit prints v as indented JSON with --output json, else calls text.
func (a *app) emit(v any, text func(w io.Writer) error) error {
	if a.output == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(a.stdout)
}

// operator names who runs muttdev, for audit rows written outside the API.
func (a *app) operator() string {
	name := a.getenv("MUTT_OPERATOR", "USER", "LOGNAME")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	return "muttdev:" + name
}

// run wraps a command's RunE so its errors carry an exit code; errors that
// reach execute unmarked therefore come from cobra itself (usage).
func run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return classify(err)
		}
		return nil
	}
}

// groupRunE makes a command that only groups others fail as a usage error
// when called without (or with an unknown) subcommand, instead of exiting 0.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usageErr("%s needs a subcommand (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "muttdev",
		Short: "Operate and develop MUTT: setup, status, config, logs, rotation, DLQs, rules, database, tests",
		Long: `muttdev is the operator's and developer's companion to mutt.

Settings come from the environment mutt reads (REDIS_URL, DATABASE_URL, MUTT_REDIS_PREFIX,
TEMPORAL_ADDRESS, MUTT_*_ADDR, ...). Changes to dynamic config and rules go through the admin API
(--api-url / MUTT_API_URL, default http://127.0.0.1:8090; key --api-key / MUTT_API_KEY /
WEBUI_API_KEY, default the mutt dev admin key), so every one is audited with its --reason.

` + exitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE:          groupRunE,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				return usageErr("--output: must be text or json, not %q", a.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "text", "output format: text or json (one JSON document, for scripts)")
	root.PersistentFlags().StringVar(&a.apiURL, "api-url", "", "admin API base URL (env MUTT_API_URL; default http://127.0.0.1:8090)")
	root.PersistentFlags().StringVar(&a.apiKey, "api-key", "", "admin API key (env MUTT_API_KEY, else WEBUI_API_KEY; default the mutt dev admin key)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	root.AddCommand(newSetupCmd(a), newStatusCmd(a), newConfigCmd(a), newLogsCmd(a), newRotateCmd(a),
		newDBCmd(a), newDLQCmd(a), newRulesCmd(a), newTestCmd(a), newProbeCmd(a), newSoakCmd(a), newBenchCmd(a))
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	return root
}

// execute runs muttdev with args and returns its exit code.
func execute(ctx context.Context, args []string, env map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, env: env}
	root := newRoot(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		ee = &exitError{code: exitUsage, err: err} // cobra's own: unknown command, bad arguments
	}
	if a.output == "json" { // scripts read one JSON document on stderr
		b, _ := json.Marshal(map[string]any{"error": ee.err.Error(), "exit_code": ee.code})
		fmt.Fprintln(stderr, string(b))
		return ee.code
	}
	if ee.code == exitUsage {
		fmt.Fprintf(stderr, "muttdev: %v\nRun 'muttdev --help' for usage.\n", ee.err)
	} else {
		fmt.Fprintf(stderr, "muttdev: %v\n", ee.err)
	}
	return ee.code
}
