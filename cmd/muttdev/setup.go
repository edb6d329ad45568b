package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	muttapp "github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/schema"
)

// SetupResult is `muttdev setup --output json`.
type SetupResult struct {
	Checked       []string          `json:"checked"` // the scripts run
	Applied       []MigrationStatus `json:"applied"`
	SeededExample bool              `json:"seeded_examples"`
	ConfigSeeded  int               `json:"config_seeded"`
	URLs          map[string]string `json:"urls"`
}

func newSetupCmd(a *app) *cobra.Command {
	var skipServices bool
	var repo string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Install and start what this machine lacks, migrate, seed, print the URLs",
		Long: `setup makes this machine ready for mutt dev and the tests:
  1. scripts/ensure-services.sh: Redis and PostgreSQL (installed from Debian packages and started when missing)
  2. scripts/ensure-temporal.sh: the Temporal CLI (installed from the Go module proxy when missing)
  3. creates the database if missing and applies the migrations
  4. seeds the example rules, dev hosts and teams into empty tables, and dynamic config (never overwriting)
  5. prints the URLs mutt dev serves (start it with: make run)
Idempotent: run it as often as you like.`,
		Args: cobra.NoArgs,
		RunE: run(func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			res := SetupResult{Checked: []string{}, Applied: []MigrationStatus{}}
			if !skipServices {
				root, err := repoRoot(repo)
				if err != nil {
					return err
				}
				for _, s := range []string{"scripts/ensure-services.sh", "scripts/ensure-temporal.sh"} {
					if a.output == "text" {
						fmt.Fprintf(a.stdout, "running %s\n", s)
					}
					if err := a.execScript(c, filepath.Join(root, s)); err != nil {
						return err
					}
					res.Checked = append(res.Checked, s)
				}
			}
			cfg, err := a.pipelineConfig()
			if err != nil {
				return err
			}
			if err := muttapp.EnsureDatabase(ctx, cfg.DatabaseAdminURL); err != nil {
				return unreachable("postgresql", err)
			}
			db, err := a.db(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			done, err := schema.Up(ctx, db, time.Now())
			if err != nil {
				return err
			}
			for _, m := range done {
				res.Applied = append(res.Applied, MigrationStatus{Version: m.Version, Name: m.Name})
			}
			if res.SeededExample, err = schema.SeedExamples(ctx, db); err != nil {
				return err
			}
			rdb, keys, err := a.redis(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = rdb.Close() }()
			acts, err := dynconfig.Init(ctx, rdb, keys, func(k string) (string, bool) { v, ok := a.env[k]; return v, ok }, false, nil)
			if err != nil {
				return err
			}
			for _, act := range acts {
				if act.Action == "set" {
					res.ConfigSeeded++
				}
			}
			res.URLs = map[string]string{
				"ingest":    "http://" + dialAddr(cfg.Ingest.Addr) + "/ingest",
				"admin_api": "http://" + dialAddr(cfg.APIAddr) + "/api/v2/version",
				"web_ui":    "http://" + dialAddr(cfg.APIAddr) + "/ui/",
				"moog_sim":  "http://" + dialAddr(cfg.MoogSimAddr) + "/stats",
				"alerter":   "http://" + dialAddr(cfg.AlerterAddr) + "/health",
				"forwarder": "http://" + dialAddr(cfg.ForwarderAddr) + "/health",
			}
			return a.emit(res, func(w io.Writer) error {
				fmt.Fprintf(w, "database: %d migrations applied; example rules seeded: %v; dynamic config keys seeded: %d\n",
					len(res.Applied), res.SeededExample, res.ConfigSeeded)
				fmt.Fprintln(w, "ready: start everything with `make run` (mutt dev); it will serve")
				for _, k := range []string{"ingest", "admin_api", "web_ui", "moog_sim", "alerter", "forwarder"} {
					fmt.Fprintf(w, "  %-10s %s\n", k, res.URLs[k])
				}
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&skipServices, "skip-services", false, "do not run the scripts that install and start Redis, PostgreSQL and the Temporal CLI")
	cmd.Flags().StringVar(&repo, "repo", "", "the MUTT checkout holding scripts/ (default: found from the current directory upwards)")
	return cmd
}

// repoRoot is dir, or the nearest directory at or above the working
// directory that holds scripts/ensure-services.sh.
func repoRoot(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "ensure-services.sh")); err != nil {
			return "", usageErr("--repo: %s has no scripts/ensure-services.sh", dir)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "scripts", "ensure-services.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", usageErr("no MUTT checkout (scripts/ensure-services.sh) at or above %s: run from the repository or pass --repo", wd)
		}
	}
}

func (a *app) execScript(c *cobra.Command, path string) error {
	out := a.stdout
	if a.output == "json" {
		out = a.stderr // stdout carries the one JSON document
	}
	sub := &app{stdin: a.stdin, stdout: out, stderr: a.stderr, env: a.env}
	if err := sub.execTool(c.Context(), "bash", path); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return &exitError{code: exitFailure, err: fmt.Errorf("%s failed: %w", filepath.Base(path), ee.err)}
		}
		return err
	}
	return nil
}
