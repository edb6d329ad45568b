// Command muttdev is the operator's and developer's companion to mutt: a
// quick look at the pipeline's state and the dynamic config, and a health
// probe for containers that have no curl.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/hotpath/pipeline"
	"github.com/mutt-ops/mutt/hotpath/stream"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

const usage = `usage: muttdev <command>

  status                   backlog of every stream, dead-letter sizes, circuit breaker
  config list              every dynamic config key: value, default, source
  config get KEY
  config set KEY VALUE     validated, then announced to every service (applies within a second)
  rotate TARGET [--grace D] [--dry-run]
                           run SecretRotationWorkflow for redis, postgres, ingest_api_key or
                           webui_api_key on Temporal (TEMPORAL_ADDRESS) and wait for its result
  probe URL                exit 0 if URL answers 200 (container health checks)

Reads REDIS_URL, MUTT_REDIS_PREFIX and MUTT_STREAM_SHARDS like mutt does.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "probe":
		err = probe(ctx, args[1:])
	case "rotate":
		err = rotate(ctx, args[1:], stdout)
	case "status", "config":
		err = withRedis(ctx, func(rdb redis.UniversalClient, keys keyspace.Keys) error {
			if args[0] == "status" {
				return status(ctx, rdb, keys, stdout)
			}
			return configCmd(ctx, rdb, keys, args[1:], stdout)
		})
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "muttdev %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func rotate(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	grace := fs.String("grace", "", "grace period before the old credential is removed (default per target)")
	dry := fs.Bool("dry-run", false, "only check the preconditions")
	if len(args) == 0 {
		return errors.New("usage: muttdev rotate TARGET [--grace D] [--dry-run]")
	}
	target := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	env := config.FromOS()
	wcfg := workers.ReadConfig(env)
	// The task queue and id prefix of the `mutt dev` instance of MUTT_REDIS_PREFIX.
	taskQueue, idPrefix := pipeline.DevTemporal(config.ReadCommon(env).RedisPrefix)
	if err := env.Err(); err != nil {
		return err
	}
	tc, err := workers.Dial(ctx, wcfg.Temporal, discardLogger())
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: idPrefix + workflows.SecretRotationWorkflowID(target), TaskQueue: taskQueue,
	}, "SecretRotationWorkflow", workflows.SecretRotationInput{Target: target, GracePeriod: *grace, DryRun: *dry})
	if err != nil {
		return fmt.Errorf("start rotation of %s (is one already running?): %w", target, err)
	}
	fmt.Fprintf(w, "rotation of %s started: workflow %s run %s (follow it in the Temporal UI)\n", target, run.GetID(), run.GetRunID())
	var res workflows.SecretRotationResult
	err = run.Get(ctx, &res)
	for _, st := range res.Steps {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", st.Step, st.Status, st.Detail)
	}
	if err != nil {
		return fmt.Errorf("rotation of %s failed: %w", target, err)
	}
	fmt.Fprintf(w, "rotation of %s done (old credential removed: %v)\n", target, res.OldRemoved)
	return nil
}

func probe(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: muttdev probe URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil) // #nosec G704 -- the operator passes the URL to probe on the command line; fetching it is the command
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req) // #nosec G704 -- the operator passes the URL to probe on the command line; fetching it is the command
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", args[0], resp.StatusCode)
	}
	return nil
}

func withRedis(ctx context.Context, f func(redis.UniversalClient, keyspace.Keys) error) error {
	e := config.FromOS()
	c := config.ReadCommon(e)
	if err := e.Err(); err != nil {
		return err
	}
	rdb, err := redisconn.Open(ctx, redisconn.Options{URL: c.RedisURL})
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	return f(rdb, keyspace.New(c.RedisPrefix, c.Shards))
}

func status(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tBACKLOG")
	all := append(append(keys.IngestStreams(), keys.AlertStreams()...), keys.AlerterDLQ(), keys.MoogDLQ(), keys.PoisonDLQ())
	for _, s := range all {
		n, err := stream.Len(ctx, rdb, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\n", s, n)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	cb, err := rdb.HGetAll(ctx, keys.CircuitBreaker()).Result()
	if err != nil {
		return fmt.Errorf("read circuit breaker: %w", err)
	}
	state := cb["state"]
	if state == "" {
		state = "closed"
	}
	fmt.Fprintf(w, "\nmoogsoft circuit breaker: %s", state)
	if f := cb["failures"]; f != "" {
		fmt.Fprintf(w, " (consecutive failures %s)", f)
	}
	fmt.Fprintln(w)
	return nil
}

func configCmd(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: muttdev config list|get KEY|set KEY VALUE")
	}
	switch {
	case args[0] == "set" && len(args) == 3:
		if err := dynconfig.Set(ctx, rdb, keys, args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s = %s\n", args[1], args[2])
		return nil
	case args[0] == "get" && len(args) == 2, args[0] == "list" && len(args) == 1:
		s := dynconfig.NewStore(rdb, keys, discardLogger())
		if err := s.Reload(ctx); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tVALUE\tDEFAULT\tSOURCE")
		found := false
		for _, v := range s.Effective() {
			if len(args) == 2 && v.Key.Name != args[1] {
				continue
			}
			found = true
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Key.Name, v.Raw, v.Key.Default, v.Source)
		}
		if !found {
			return fmt.Errorf("%s: %w", args[1], dynconfig.ErrUnknownKey)
		}
		return tw.Flush()
	}
	return errors.New("usage: muttdev config list|get KEY|set KEY VALUE")
}
