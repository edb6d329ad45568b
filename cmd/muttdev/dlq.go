package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/workflows"
)

// dlqTable is config_audit_log.table_name of a purged dead-letter stream.
const dlqTable = api.DLQAuditTable

var dlqNames = []string{workflows.DLQAlerter, workflows.DLQMoog, workflows.DLQPoison}

func dlqKey(keys keyspace.Keys, name string) (string, error) {
	switch name {
	case workflows.DLQAlerter:
		return keys.AlerterDLQ(), nil
	case workflows.DLQMoog:
		return keys.MoogDLQ(), nil
	case workflows.DLQPoison:
		return keys.PoisonDLQ(), nil
	}
	return "", usageErr("unknown dead-letter stream %q (want one of %s)", name, strings.Join(dlqNames, ", "))
}

// DLQSummary is one dead-letter stream in `dlq list`.
type DLQSummary struct {
	Name    string `json:"name"`
	Stream  string `json:"stream"`
	Entries int64  `json:"entries"`
	// OldestFailedAt is the failed_at of the oldest entry ("" when empty).
	OldestFailedAt string `json:"oldest_failed_at,omitempty"`
}

// DLQEntry is one dead letter in `dlq show`, as the console shows it.
type DLQEntry = api.DLQEntry

// DLQPurge is `dlq purge --output json`.
type DLQPurge struct {
	Name    string `json:"name"`
	Stream  string `json:"stream"`
	Purged  int64  `json:"purged"`
	FirstID string `json:"first_id,omitempty"`
	LastID  string `json:"last_id,omitempty"`
}

func newDLQCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Dead-letter streams: list, show, replay (DLQRemediationWorkflow), purge (audited)",
		Long: `Dead-letter streams: ` + strings.Join(dlqNames, ", ") + ` (keys <prefix>dlq:<name>).
replay starts DLQRemediationWorkflow on Temporal and waits for its result; purge asks for
confirmation (--yes skips it), then deletes the entries it counted and writes a config_audit_log
row (table_name dlq, operation DELETE, record_id the stream) in the same transaction.`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	withRedis := func(fn func(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, args []string) error) func(*cobra.Command, []string) error {
		return run(func(c *cobra.Command, args []string) error {
			rdb, keys, err := a.redis(c.Context())
			if err != nil {
				return err
			}
			defer func() { _ = rdb.Close() }()
			return fn(c.Context(), rdb, keys, args)
		})
	}
	list := &cobra.Command{
		Use: "list", Short: "Every dead-letter stream and its size", Args: cobra.NoArgs,
		RunE: withRedis(func(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, _ []string) error {
			var out []DLQSummary
			for _, n := range dlqNames {
				k, _ := dlqKey(keys, n)
				l, err := stream.Len(ctx, rdb, k)
				if err != nil {
					return unreachable("redis", err)
				}
				s := DLQSummary{Name: n, Stream: k, Entries: l}
				if l > 0 {
					first, err := rdb.XRangeN(ctx, k, "-", "+", 1).Result()
					if err != nil {
						return unreachable("redis", err)
					}
					if len(first) == 1 {
						s.OldestFailedAt, _ = first[0].Values["failed_at"].(string)
					}
				}
				out = append(out, s)
			}
			return a.emit(map[string]any{"dlq": out}, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DLQ\tSTREAM\tENTRIES\tOLDEST FAILED AT")
				for _, s := range out {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Name, s.Stream, s.Entries, s.OldestFailedAt)
				}
				return tw.Flush()
			})
		}),
	}
	var count int64
	var from string
	show := &cobra.Command{
		Use: "show NAME", Short: "The oldest entries of a dead-letter stream (reason, error, original message)",
		Args: dlqNameArg, ValidArgs: dlqNames,
		PreRunE: func(*cobra.Command, []string) error {
			if count < 1 || count > 10000 {
				return usageErr("--count: must be between 1 and 10000")
			}
			return nil
		},
		RunE: withRedis(func(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, args []string) error {
			k, err := dlqKey(keys, args[0])
			if err != nil {
				return err
			}
			msgs, err := rdb.XRangeN(ctx, k, from, "+", count).Result()
			if err != nil {
				return fmt.Errorf("read %s: %w", k, err)
			}
			entries := make([]DLQEntry, 0, len(msgs))
			for _, m := range msgs {
				entries = append(entries, dlqEntry(m))
			}
			return a.emit(map[string]any{"name": args[0], "stream": k, "entries": entries}, func(w io.Writer) error {
				for _, e := range entries {
					fmt.Fprintf(w, "%s  reason=%s attempts=%s failed_at=%s from=%s/%s\n  error: %s\n  data:  %s\n",
						e.ID, e.Reason, e.Attempts, e.FailedAt, e.SourceStream, e.SourceID, e.Error, e.Data)
				}
				if len(entries) == 0 {
					fmt.Fprintf(w, "%s is empty\n", k)
				}
				return nil
			})
		}),
	}
	show.Flags().Int64Var(&count, "count", 20, "entries to show (1-10000)")
	show.Flags().StringVar(&from, "from", "-", "first entry id to show (default the oldest)")

	var dry, noWait bool
	var maxEntries int
	var reasons []string
	replay := &cobra.Command{
		Use:   "replay [alerter|moog]...",
		Short: "Start DLQRemediationWorkflow (replay dead letters) and wait for its result",
		Long: `replay starts DLQRemediationWorkflow on Temporal for the named streams (default both): the moog
DLQ is replayed into the alert stream when Moogsoft is healthy, the alerter DLQ into the ingest stream;
entries replayed too often are parked in the poison stream.`,
		ValidArgs: []string{workflows.DLQAlerter, workflows.DLQMoog},
		RunE: run(func(c *cobra.Command, args []string) error {
			for _, s := range args {
				if s != workflows.DLQAlerter && s != workflows.DLQMoog {
					return usageErr("replay: unknown stream %q (want alerter or moog; poison entries are inspected, not replayed)", s)
				}
			}
			if maxEntries < 0 {
				return usageErr("--max-entries: must not be negative")
			}
			tc, taskQueue, idPrefix, err := a.temporal(c.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			in := workflows.DLQInput{Streams: args, MaxEntries: maxEntries, DryRun: dry, Reasons: reasons}
			id := idPrefix + "mutt-dlq-remediation-manual-" + time.Now().UTC().Format("20060102T150405.000")
			wr, err := tc.ExecuteWorkflow(c.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue},
				"DLQRemediationWorkflow", in)
			if err != nil {
				return fmt.Errorf("start DLQRemediationWorkflow: %w", err)
			}
			out := map[string]any{"workflow_id": wr.GetID(), "run_id": wr.GetRunID(), "status": "started"}
			if noWait {
				return a.emit(out, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "DLQRemediationWorkflow started: workflow %s run %s\n", wr.GetID(), wr.GetRunID())
					return err
				})
			}
			var res workflows.DLQResult
			if err := wr.Get(c.Context(), &res); err != nil {
				return fmt.Errorf("DLQRemediationWorkflow %s failed: %w", wr.GetID(), err)
			}
			out["status"], out["result"] = "done", res
			return a.emit(out, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DLQ\tEXAMINED\tREPLAYED\tPOISONED\tSKIPPED\tLEFT")
				for _, s := range res.Streams {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", s.Stream, s.Examined, s.Replayed, s.Poisoned, s.Skipped+s.SkippedUnhealthy, s.Depth)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(w, "poison stream: %d entries (dry run: %v)\n", res.PoisonDepth, res.DryRun)
				return nil
			})
		}),
	}
	replay.Flags().BoolVar(&dry, "dry-run", false, "count what would be replayed or parked; change nothing")
	replay.Flags().BoolVar(&noWait, "no-wait", false, "start the workflow and return without waiting")
	replay.Flags().IntVar(&maxEntries, "max-entries", 0, "entries examined per stream (default the workflow's, 1000)")
	replay.Flags().StringSliceVar(&reasons, "reason-filter", nil, "only entries dead-lettered for these reasons (e.g. moog_rejected)")

	var yes bool
	var reason string
	purge := &cobra.Command{
		Use: "purge NAME --reason TEXT [--yes]", Short: "Delete every entry of a dead-letter stream (asks first; audited)",
		Args: dlqNameArg, ValidArgs: dlqNames,
		PreRunE: func(*cobra.Command, []string) error {
			if reason == "" {
				return usageErr("--reason is required: say why, it goes into the audit log")
			}
			return nil
		},
		RunE: withRedis(func(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, args []string) error {
			k, err := dlqKey(keys, args[0])
			if err != nil {
				return err
			}
			p, err := a.purgeDLQ(ctx, rdb, k, args[0], reason, yes)
			if err != nil {
				return err
			}
			return a.emit(p, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "purged %d entries from %s (audited)\n", p.Purged, p.Stream)
				return err
			})
		}),
	}
	purge.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	purge.Flags().StringVar(&reason, "reason", "", "why (stored in the audit log; required)")
	cmd.AddCommand(list, show, replay, purge)
	return cmd
}

// dlqNameArg accepts exactly one known dead-letter stream name.
func dlqNameArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("want one dead-letter stream: %s", strings.Join(dlqNames, ", "))
	}
	_, err := dlqKey(keyspace.Keys{}, args[0])
	return err
}

func dlqEntry(m redis.XMessage) DLQEntry { return api.NewDLQEntry(m) }

// purgeDLQ deletes the entries up to the newest one it saw (entries added
// meanwhile stay), in the same transaction as its audit row: the row is
// inserted first, the entries are trimmed, then the transaction commits.
func (a *app) purgeDLQ(ctx context.Context, rdb redis.UniversalClient, key, name, reason string, yes bool) (DLQPurge, error) {
	p := DLQPurge{Name: name, Stream: key}
	n, err := stream.Len(ctx, rdb, key)
	if err != nil {
		return p, unreachable("redis", err)
	}
	if n == 0 {
		return p, nil
	}
	first, err := rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return p, unreachable("redis", err)
	}
	last, err := rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return p, unreachable("redis", err)
	}
	if len(first) == 0 || len(last) == 0 {
		return p, nil
	}
	p.FirstID, p.LastID = first[0].ID, last[0].ID
	if !yes {
		fmt.Fprintf(a.stderr, "Delete %d entries from %s (%s .. %s)? This cannot be undone. Type yes: ", n, key, p.FirstID, p.LastID)
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			return p, usageErr("purge of %s not confirmed; nothing deleted (--yes skips the question)", key)
		}
	}
	minID, err := nextStreamID(p.LastID)
	if err != nil {
		return p, err
	}
	db, err := a.db(ctx)
	if err != nil {
		return p, err
	}
	defer db.Close()
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// Audited first: if the row cannot be written, nothing is deleted.
		if err := api.WriteAudit(ctx, tx, api.AuditEntry{ChangedBy: a.operator(), Operation: "DELETE", TableName: dlqTable,
			RecordID: key, Reason: reason, Old: map[string]any{"entries": n, "first_id": p.FirstID, "last_id": p.LastID}}); err != nil {
			return err
		}
		// Only the entries up to the newest one counted (XTRIM MINID deletes ids below it).
		p.Purged, err = rdb.XTrimMinID(ctx, key, minID).Result()
		if err != nil {
			return unreachable("redis", err)
		}
		return nil
	})
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return p, err
		}
		return p, fmt.Errorf("purge %s: %w", key, err)
	}
	return p, nil
}

// nextStreamID is the smallest stream id after id ("5-3" → "5-4").
func nextStreamID(id string) (string, error) {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		return "", fmt.Errorf("unexpected stream id %q", id)
	}
	return ms + "-" + strconv.FormatUint(n+1, 10), nil
}
