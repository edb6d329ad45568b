package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/soak"
	"github.com/mutt-ops/mutt/workers"
)

func newSoakCmd(a *app) *cobra.Command {
	var o soak.Options
	var exe, report, temporal string
	cmd := &cobra.Command{
		Use:   "soak [--duration 30m] [--rate 500] [--report FILE]",
		Short: "Soak test: the roles as real processes under fixed load for a long time; report and plots in docs/",
		Long: `soak builds mutt (unless --mutt names a binary), starts the ingestor, alerter, forwarder, worker
and the Moogsoft simulator as processes with their own PostgreSQL database, Redis key prefix and
Temporal namespace (REDIS_URL, DATABASE_URL; --temporal-address, default TEMPORAL_ADDRESS), applies
the schedules with partition maintenance and retention every --schedule-every, offers --rate events/s
for --duration and samples every process's memory, goroutines, descriptors and sockets, the latency,
the backlog and the schedule runs every --sample. It then judges each series flat or not over the
second half of the run and writes a Markdown report (--report, default docs/soak/soak-<duration>.md)
with SVG plots (--img-dir, default docs/img). Exit 1 when a series is not flat or a schedule did not
complete (the report says which). See docs/soak/README.md.`,
		Args: cobra.NoArgs,
		RunE: run(func(c *cobra.Command, _ []string) error {
			if o.Duration < time.Minute {
				return usageErr("--duration must be at least 1m (got %s)", o.Duration)
			}
			if o.Rate < 1 || o.Rate > 1_000_000 {
				return usageErr("--rate must be between 1 and 1000000 events/s (got %d)", o.Rate)
			}
			if o.SampleEvery < time.Second || o.SampleEvery*8 > o.Duration {
				return usageErr("--sample must be at least 1s and at most an eighth of --duration (got %s)", o.SampleEvery)
			}
			if o.ScheduleEvery == 0 {
				o.ScheduleEvery = min(max((o.Duration/6).Round(10*time.Second), time.Minute), 30*time.Minute)
			}
			if o.ScheduleEvery < 10*time.Second {
				return usageErr("--schedule-every must be at least 10s (got %s)", o.ScheduleEvery)
			}
			if o.Batch < 1 || o.Senders < 1 {
				return usageErr("--batch and --senders must be positive")
			}
			common, err := a.common()
			if err != nil {
				return err
			}
			if temporal == "" {
				temporal = a.getenv("TEMPORAL_ADDRESS")
			}
			if temporal == "" {
				temporal = "127.0.0.1:7233"
			}
			if temporal == "none" {
				temporal = ""
			} else if !workers.Reachable(c.Context(), temporal) {
				return unreachable("temporal at "+temporal, fmt.Errorf("no answer (scripts/ensure-temporal.sh --test-server starts one on 127.0.0.1:17233; --temporal-address none soaks without the worker and schedules)"))
			}
			if report == "" {
				report = filepath.Join("docs", "soak", "soak-"+config.ShortDuration(o.Duration)+".md")
			}
			if exe == "" {
				dir, err := os.MkdirTemp("", "mutt-soak-bin-")
				if err != nil {
					return err
				}
				defer func() { _ = os.RemoveAll(dir) }()
				exe = filepath.Join(dir, "mutt")
				fmt.Fprintf(a.stderr, "soak: building mutt into %s\n", exe)
				gobin, err := a.lookPath("go")
				if err != nil {
					return err
				}
				root, err := a.moduleRoot(c, gobin)
				if err != nil {
					return err
				}
				b := exec.CommandContext(c.Context(), gobin, "build", "-o", exe, "./cmd/mutt") // #nosec G204 -- the go command with fixed arguments
				b.Dir, b.Env, b.Stdout, b.Stderr = root, a.environ(), a.stderr, a.stderr
				if err := b.Run(); err != nil {
					return fmt.Errorf("build mutt: %w", err)
				}
			}
			o.Exe, o.RedisURL, o.RedisCluster, o.AdminDatabaseURL = exe, common.RedisURL, common.RedisCluster, common.DatabaseURL
			o.TemporalAddress, o.ReportPath, o.Out = temporal, report, a.stdout
			o.Command = "muttdev soak " + strings.Join(soakArgs(c), " ")
			res, err := soak.Run(c.Context(), o)
			if err != nil {
				return err
			}
			if !res.Pass {
				return fmt.Errorf("soak failed: see %s", report)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.DurationVar(&o.Duration, "duration", 30*time.Minute, "how long the load runs (the documented long run is 2h)")
	f.IntVar(&o.Rate, "rate", 500, "events/s offered, fixed")
	f.IntVar(&o.Batch, "batch", 50, "events per HTTP request")
	f.IntVar(&o.Senders, "senders", 4, "concurrent HTTP clients")
	f.DurationVar(&o.SampleEvery, "sample", 10*time.Second, "sampling interval")
	f.DurationVar(&o.ScheduleEvery, "schedule-every", 0, "interval of partition maintenance and retention (default: a sixth of --duration, 1m–30m)")
	f.IntVar(&o.OldRows, "old-rows", 20000, "audit rows seeded past retention for the first retention run to archive")
	f.StringVar(&report, "report", "", "Markdown report (default docs/soak/soak-<duration>.md); raw samples go next to it (.json)")
	f.StringVar(&o.ImgDir, "img-dir", filepath.Join("docs", "img"), "directory of the SVG plots (soak-<report name>-<kind>.svg)")
	f.StringVar(&o.Title, "title", "", "title of the report")
	f.StringVar(&exe, "mutt", "", "mutt binary to run (default: go build ./cmd/mutt into a temporary directory)")
	f.StringVar(&temporal, "temporal-address", "", "Temporal frontend (default TEMPORAL_ADDRESS, else 127.0.0.1:7233); none: no worker, no schedules")
	return cmd
}

// soakArgs are the flags the user set, for the report's "reproduce" line.
func soakArgs(c *cobra.Command) []string {
	var out []string
	c.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "mutt" {
			v := f.Value.String()
			if strings.ContainsAny(v, " \t'\"") {
				v = "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" // as a POSIX shell reads it back
			}
			out = append(out, "--"+f.Name+"="+v)
		}
	})
	return out
}
