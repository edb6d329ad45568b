package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutt-ops/mutt/internal/bench"
)

// benchLong is also the usage mutt bench shows, as it runs this command.
const benchLong = `bench starts the ingestor, alerter, forwarder and Moogsoft simulator as mutt processes with their
own PostgreSQL database and Redis key prefix (REDIS_URL, DATABASE_URL), offers load over HTTP and
prints throughput, latency and where the time went (docs/PERFORMANCE.md). The mutt binary it runs
is -mutt, else the mutt next to muttdev, else mutt on PATH.

Flags take one dash or two, as they did under 'mutt bench':`

// newBenchCmd is the end-to-end benchmark. It lived in mutt as `mutt bench`;
// it is here so the production binary does not link the benchmark (it starts
// processes and imports the workers). Its flags are parsed by the flag
// package, as they were in mutt, so `mutt bench -rate 5000` (which execs
// `muttdev bench` with the same arguments) keeps working.
func newBenchCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:                "bench [-rate N] [-duration D] [-phases fixed,saturate,archive] [-profile DIR] [-mutt PATH]",
		Short:              "End-to-end benchmark: the roles as real mutt processes under load (docs/PERFORMANCE.md)",
		Long:               benchLong,
		DisableFlagParsing: true,
		RunE: run(func(c *cobra.Command, args []string) error {
			return a.bench(c, args)
		}),
	}
}

func (a *app) bench(c *cobra.Command, args []string) error {
	fs := flag.NewFlagSet("muttdev bench", flag.ContinueOnError)
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprintf(w, "Usage: muttdev bench [flags]\n\n%s\n", benchLong)
		fs.PrintDefaults()
	}
	fs.Usage = func() { usage(a.stderr) }
	rate := fs.Int("rate", 5000, "events/s offered in the fixed-rate phase")
	dur := fs.Duration("duration", 20*time.Second, "length of each load phase")
	batch := fs.Int("batch", 100, "events per HTTP request")
	senders := fs.Int("senders", 8, "concurrent HTTP clients")
	phases := fs.String("phases", "fixed,saturate", "phases to run: fixed, saturate, archive (saturation while the retention workflow archives -archive-rows old audit rows)")
	archiveRows := fs.Int("archive-rows", 1_000_000, "audit rows the archive phase archives")
	profile := fs.String("profile", "", "directory for CPU profiles and execution traces of each role taken during every load phase")
	warmup := fs.Duration("warmup", 2*time.Second, "load at -rate before the first phase, not counted (0: none)")
	ceilings := fs.Bool("ceilings", true, "first measure PostgreSQL's and Redis's own ceilings and print MUTT's throughput as a ratio of them")
	oneProcess := fs.Bool("one-process", false, "run the ingestor, alerter and forwarder as one process (mutt all) instead of three")
	exe := fs.String("mutt", "", "mutt binary to run (default: the mutt next to muttdev, else on PATH)")
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "-h" || arg == "-help" || arg == "--help" {
			usage(a.stdout)
			return nil
		}
	}
	fs.SetOutput(io.Discard) // the error says what is wrong; the usage is one -h away
	if err := fs.Parse(args); err != nil {
		return usageErr("bench: %v (muttdev bench -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return usageErr("bench takes no arguments (got %q)", fs.Args())
	}
	switch {
	case *rate < 1:
		return usageErr("bench: -rate must be at least 1 event/s (got %d)", *rate)
	case *dur <= 0:
		return usageErr("bench: -duration must be positive (got %s)", *dur)
	case *batch < 1 || *senders < 1:
		return usageErr("bench: -batch and -senders must be positive")
	case *archiveRows < 0:
		return usageErr("bench: -archive-rows must not be negative")
	}
	for _, ph := range strings.Split(*phases, ",") {
		if ph != "fixed" && ph != "saturate" && ph != "archive" {
			return usageErr("bench: -phases: unknown phase %q (fixed, saturate, archive)", ph)
		}
	}
	common, err := a.common()
	if err != nil {
		return err
	}
	if *exe == "" {
		if *exe, err = a.findMutt(); err != nil {
			return err
		}
	}
	_, err = bench.Run(c.Context(), bench.Options{Exe: *exe, RedisURL: common.RedisURL, RedisCluster: common.RedisCluster,
		AdminDatabaseURL: common.DatabaseURL, Rate: *rate, Duration: *dur, Batch: *batch, Senders: *senders,
		Phases: strings.Split(*phases, ","), ProfileDir: *profile, Warmup: *warmup, ArchiveRows: *archiveRows, NoCeilings: !*ceilings, OneProcess: *oneProcess, Out: a.stdout})
	return err
}

// findMutt is the mutt binary installed with this muttdev (make install puts
// both in one directory), else the one on PATH.
func (a *app) findMutt() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "mutt")
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := a.lookPath("mutt")
	if err != nil {
		return "", usageErr("no mutt binary next to muttdev or on PATH: pass -mutt PATH, or run make install")
	}
	return p, nil
}
