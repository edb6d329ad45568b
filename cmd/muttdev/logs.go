package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// logServices are the roles `logs` knows; "all" is every line.
var logServices = []string{"all", "ingestor", "alerter", "forwarder", "api", "worker", "moog-sim"}

// logComponents are the slog component values each role's lines carry in
// the single log of `mutt dev`.
var logComponents = map[string][]string{
	"ingestor":  {"ingestor", "ingest"},
	"alerter":   {"alerter"},
	"forwarder": {"forwarder"},
	"api":       {"api"},
	"moog-sim":  {"moog-sim", "moogsim"},
	"worker":    {"worker", "temporal", "partitions", "retention", "slo", "dlq_remediation", "secret_rotation"},
}

// followPoll is how often --follow looks for new lines in the dev log file.
const followPoll = 200 * time.Millisecond

func newLogsCmd(a *app) *cobra.Command {
	var tail int
	var follow bool
	var via, file, namespace string
	cmd := &cobra.Command{
		Use:   "logs SERVICE [--tail N] [--follow]",
		Short: "Logs of a service (" + strings.Join(logServices, ", ") + ") from mutt dev, compose or Kubernetes",
		Long: `logs prints a service's log lines.

  --via dev      (default) the log file mutt dev writes (MUTT_DEV_LOG_FILE, default ./.mutt/dev.log,
                 ./.mutt/dev-<instance>.log for a non-default MUTT_REDIS_PREFIX), filtered by component
  --via compose  runs: docker compose logs [--tail N] [--follow] SERVICE
  --via k8s      runs: kubectl logs [-n NAMESPACE] deployment/mutt-SERVICE [--tail N] [--follow]`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: logServices,
		RunE: run(func(c *cobra.Command, args []string) error {
			svc := args[0]
			if !slices.Contains(logServices, svc) {
				return usageErr("unknown service %q (want one of %s)", svc, strings.Join(logServices, ", "))
			}
			if tail < -1 {
				return usageErr("--tail: must be -1 (everything) or more")
			}
			switch via {
			case "dev":
				if file == "" {
					cfg, err := a.pipelineConfig()
					if err != nil {
						return err
					}
					file = cfg.DevLogFile
				}
				return a.devLogs(c.Context(), file, svc, tail, follow)
			case "compose":
				argv := []string{"compose", "logs", "--no-color"}
				if tail >= 0 {
					argv = append(argv, "--tail", strconv.Itoa(tail))
				}
				if follow {
					argv = append(argv, "--follow")
				}
				if svc != "all" {
					argv = append(argv, svc)
				}
				return a.execTool(c.Context(), "docker", argv...)
			case "k8s":
				argv := []string{"logs"}
				if namespace != "" {
					argv = append(argv, "-n", namespace)
				}
				if svc == "all" {
					argv = append(argv, "-l", "app.kubernetes.io/part-of=mutt", "--all-containers", "--prefix")
				} else {
					argv = append(argv, "deployment/mutt-"+svc)
				}
				argv = append(argv, "--tail", strconv.Itoa(tail))
				if follow {
					argv = append(argv, "--follow")
				}
				return a.execTool(c.Context(), "kubectl", argv...)
			}
			return usageErr("--via: must be dev, compose or k8s, not %q", via)
		}),
	}
	cmd.Flags().IntVarP(&tail, "tail", "n", 100, "lines to show from the end (-1: everything)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	cmd.Flags().StringVar(&via, "via", "dev", "where the services run: dev (mutt dev), compose or k8s")
	cmd.Flags().StringVar(&file, "file", "", "the mutt dev log file (default MUTT_DEV_LOG_FILE or mutt dev's default)")
	cmd.Flags().StringVar(&namespace, "namespace", "", "Kubernetes namespace (--via k8s)")
	return cmd
}

// logLine is one line of --output json (NDJSON, so --follow can stream).
type logLine struct {
	Service string `json:"service"`
	Line    string `json:"line"`
}

func (a *app) printLog(svc, line string) {
	if a.output == "json" {
		b, _ := json.Marshal(logLine{Service: svc, Line: line})
		fmt.Fprintln(a.stdout, string(b))
		return
	}
	fmt.Fprintln(a.stdout, line)
}

// lineOf says whether a log line (slog text or JSON) belongs to svc.
func lineOf(svc, line string) bool {
	if svc == "all" {
		return true
	}
	for _, c := range logComponents[svc] {
		if strings.Contains(line, " component="+c+" ") || strings.HasSuffix(line, " component="+c) ||
			strings.Contains(line, `"component":"`+c+`"`) {
			return true
		}
	}
	return false
}

func (a *app) devLogs(ctx context.Context, path, svc string, tail int, follow bool) error {
	f, err := os.Open(filepath.Clean(path))
	if errors.Is(err, os.ErrNotExist) {
		return &exitError{code: exitUnreachable, err: fmt.Errorf("no log file %s: is mutt dev running here (make run)? For compose or Kubernetes use --via", path)}
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r := bufio.NewReader(f)
	var last []string
	var partial string
	readLines := func(emit func(string)) error {
		for {
			s, err := r.ReadString('\n')
			if errors.Is(err, io.EOF) {
				partial += s // an unfinished line: wait for its end
				return nil
			}
			if err != nil {
				return err
			}
			line := strings.TrimRight(partial+s, "\r\n")
			partial = ""
			if lineOf(svc, line) {
				emit(line)
			}
		}
	}
	if err := readLines(func(l string) {
		last = append(last, l)
		if tail >= 0 && len(last) > tail {
			last = last[1:]
		}
	}); err != nil {
		return err
	}
	for _, l := range last {
		a.printLog(svc, l)
	}
	if !follow {
		return nil
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil // interrupted: the normal end of --follow
		case <-t.C:
			if err := readLines(func(l string) { a.printLog(svc, l) }); err != nil {
				return err
			}
		}
	}
}

// execTool runs an operator tool (docker, kubectl, go) with this
// invocation's environment and streams, and passes on its failure.
func (a *app) execTool(ctx context.Context, name string, args ...string) error {
	return a.execToolIn(ctx, "", name, args...)
}

// execToolIn is execTool in directory dir ("" for the working directory).
func (a *app) execToolIn(ctx context.Context, dir, name string, args ...string) error {
	path, err := a.lookPath(name)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("%s is not installed (not on PATH): %w", name, err)}
	}
	cmd := exec.CommandContext(ctx, path, args...) // #nosec G204 -- docker or kubectl from PATH with the operator's own arguments
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	cmd.Env, cmd.Dir = a.environ(), dir
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &exitError{code: exitFailure, err: fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)}
		}
		return err
	}
	return nil
}

// lookPath finds name on this invocation's PATH.
func (a *app) lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(a.env["PATH"]) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func (a *app) environ() []string {
	out := make([]string, 0, len(a.env))
	for k, v := range a.env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
