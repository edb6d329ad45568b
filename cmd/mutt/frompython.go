package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/migration"
)

// runFromPython is `mutt migrate from-python`: see migration and
// docs/MIGRATION_FROM_PYTHON_MUTT.md.
func runFromPython(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate from-python", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "inspect and print what would be done; change nothing")
	output := fs.String("output", "text", "report format: text or json")
	batch := fs.Int("batch-size", 50000, "event audit rows copied per transaction")
	maxBatches := fs.Int("max-batches", 0, "stop after this many audit batches (0: all); rerun to continue")
	rollback := fs.Bool("rollback", false, "put the Python tables back in public; MUTT's move to mutt_go_rollback_<time>")
	finalize := fs.Bool("finalize", false, "drop the Python tables kept in schema python_v25 (no rollback afterwards)")
	skipPG := fs.Bool("skip-postgres", false, "leave the database alone")
	skipRedis := fs.Bool("skip-redis", false, "leave Redis alone")
	force := fs.Bool("force", false, "drain Redis although Python workers still send heartbeats")
	pyPrefix := fs.String("python-prefix", "mutt:", "key prefix of the Python MUTT in Redis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("--output: %q is not text or json", *output)
	}
	if *rollback && *finalize {
		return errors.New("--rollback and --finalize exclude each other")
	}
	if *batch < 1 {
		return fmt.Errorf("--batch-size: %d is not a positive number", *batch)
	}
	env, c, db, err := openAdminDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case *rollback:
		dest, err := migration.Rollback(ctx, db, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database rolled back: the Python tables are in public again; MUTT's tables are kept in schema %s\n"+
			"Redis: the renamed keys (*%s) can be renamed back by hand; see docs/MIGRATION_FROM_PYTHON_MUTT.md\n", dest, migration.RenameSuffix)
		return nil
	case *finalize:
		if err := migration.Finalize(ctx, db); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema %s dropped: the migration from the Python MUTT is final\n", migration.PythonSchema)
		return nil
	}
	rep := &migration.Report{DryRun: *dry}
	var runErr error
	if !*skipPG {
		rep.Postgres, runErr = migration.FromPython(ctx, db, migration.Options{DryRun: *dry, BatchSize: *batch,
			MaxBatches: *maxBatches, Log: logger(c).With("component", "migrate")})
	}
	if runErr == nil && !*skipRedis {
		rdb, err := redisconn.Open(ctx, redisconn.Options{URL: env.String(c.RedisURL, "REDIS_ADMIN_URL")})
		if err != nil {
			return err
		}
		defer func() { _ = rdb.Close() }()
		rep.Redis, runErr = migration.DrainRedis(ctx, rdb, migration.RedisOptions{DryRun: *dry, PythonPrefix: *pyPrefix,
			Keys: keyspace.New(c.RedisPrefix, c.Shards), Force: *force})
	}
	if *output == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	return errors.Join(runErr, err)
}
