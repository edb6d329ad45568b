package secrets_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/ratelimit"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
)

// TestRedisUserRunsTheHotPathAndNothingElse sets the user up twice and then
// runs the hot path's real stream, rate-limit and dynamic-config operations
// as that user, and proves what it must not do.
func TestRedisUserRunsTheHotPathAndNothingElse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw-1", "mutt:"))
	require.NoError(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw-1", "mutt:"), "idempotent")
	require.NoError(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw-2", "mutt:"), "adds, never removes")
	require.Error(t, secrets.SetupRedisUser(ctx, admin, "default", "pw", "mutt:"))
	require.Error(t, secrets.SetupRedisUser(ctx, admin, "mutt", "pw", ""))
	require.NoError(t, admin.Set(ctx, "other:key", "x", 0).Err())

	for _, pw := range []string{"pw-1", "pw-2"} {
		c := redis.NewClient(&redis.Options{Addr: addr, Username: "mutt", Password: pw})
		require.NoError(t, c.Ping(ctx).Err(), pw)
		require.NoError(t, c.Close())
	}
	c := redis.NewClient(&redis.Options{Addr: addr, Username: "mutt", Password: "pw-1"})
	t.Cleanup(func() { _ = c.Close() })
	keys := keyspace.New("mutt:", 2)
	log := slog.New(slog.DiscardHandler)

	// Streams: bounded enqueue, consumer group, read, extend, dead-letter, ack.
	// The second entry holds two events, as the ingestor writes a request's
	// (ADR 0048): the scripts keep the stream's counter, inside the prefix.
	_, _, err := stream.Enqueue(ctx, c, keys.IngestStream(0), 100, [][]byte{[]byte("a"), []byte(`["b","c"]`)}, []int{1, 2})
	require.NoError(t, err)
	require.NoError(t, stream.Add(ctx, c, keys.AlertStream(1), [][]byte{[]byte("c")}))
	n, err := stream.Depth(ctx, c, keys.IngestStreams()...)
	require.NoError(t, err)
	require.Equal(t, int64(3), n, "events, not entries")
	cons := stream.NewConsumer(c, stream.Options{Stream: keys.IngestStream(0), Group: "alerter",
		Consumer: stream.ConsumerName("alerter"), DeadLetter: keys.AlerterDLQ(), Block: 10 * time.Millisecond,
		Counter:    stream.CounterKey(keys.IngestStream(0)),
		Visibility: func() time.Duration { return time.Millisecond }}, log, stream.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, cons.EnsureGroup(ctx))
	require.NoError(t, cons.EnsureGroup(ctx))
	entries, err := cons.Read(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.NoError(t, cons.Extend(ctx, entries[0].ID))
	require.NoError(t, cons.DeadLetter(ctx, stream.DeadLetter{Entry: entries[1], Reason: "test", Err: "x"}))
	require.EventuallyWithT(t, func(ct *assert.CollectT) { // reclaim (XAUTOCLAIM) after the visibility timeout
		got, err := cons.Read(ctx)
		assert.NoError(ct, err)
		assert.Len(ct, got, 1)
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, cons.AckEntries(ctx, entries[0]))
	n, err = stream.Depth(ctx, c, keys.IngestStreams()...)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, c.XPending(ctx, keys.IngestStream(0), "alerter").Err())
	require.NoError(t, c.XInfoGroups(ctx, keys.IngestStream(0)).Err())
	require.NoError(t, c.XRange(ctx, keys.AlerterDLQ(), "-", "+").Err())
	require.NoError(t, cons.Close(ctx))

	// Rate limit (Lua script) and dynamic config (SET, PUBLISH, SUBSCRIBE, MGET).
	res, err := ratelimit.Allow(ctx, c, keys.IngestRateLimit(), ratelimit.Limit{Rate: 10, Period: time.Second}, 1)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	dyn := dynconfig.NewStore(c, keys, log)
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dyn.Run(dctx) }()
	require.NoError(t, dynconfig.Set(ctx, c, keys, "ingest_max_rate", "7"))
	require.Eventually(t, func() bool { return dyn.Int(dynconfig.IngestMaxRate) == 7 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done

	// The rest of what services do: hashes, counters, expiry, SCAN, MULTI/EXEC.
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keys.CircuitBreaker(), "state", "closed")
		p.HIncrBy(ctx, keys.Unhandled("h", "f"), "count", 1)
		p.IncrBy(ctx, keys.RateBucket("1m", "x"), 3)
		p.Expire(ctx, keys.RateBucket("1m", "x"), time.Minute)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, c.HGetAll(ctx, keys.CircuitBreaker()).Err())
	require.NoError(t, c.HMGet(ctx, keys.CircuitBreaker(), "state").Err())
	require.NoError(t, c.MGet(ctx, keys.RateBucket("1m", "x"), keys.Config("x")).Err())
	require.NoError(t, c.Scan(ctx, 0, "mutt:*", 100).Err())
	require.NoError(t, c.Del(ctx, keys.RateBucket("1m", "x")).Err())

	// Least privilege: nothing outside the prefix, no server administration.
	for name, cmd := range map[string][]any{
		"flushall":      {"FLUSHALL"},
		"flushdb":       {"FLUSHDB"},
		"config":        {"CONFIG", "GET", "*"},
		"acl":           {"ACL", "LIST"},
		"keys":          {"KEYS", "*"},
		"info":          {"INFO"},
		"client kill":   {"CLIENT", "KILL", "USER", "default"},
		"script flush":  {"SCRIPT", "FLUSH"},
		"function":      {"FUNCTION", "FLUSH"},
		"get outside":   {"GET", "other:key"},
		"set outside":   {"SET", "other:key", "y"},
		"del outside":   {"DEL", "other:key"},
		"publish other": {"PUBLISH", "other:chan", "x"},
		"shutdown":      {"SHUTDOWN", "NOSAVE"},
	} {
		err := c.Do(ctx, cmd...).Err()
		require.ErrorContains(t, err, "NOPERM", name)
	}
	require.Equal(t, "x", admin.Get(ctx, "other:key").Val())
	// DEBUG is refused by the server before the ACL is consulted; ask the
	// ACL itself.
	out, err := admin.Do(ctx, "ACL", "DRYRUN", "mutt", "DEBUG", "SLEEP", "0").Text()
	require.NoError(t, err)
	require.Contains(t, out, "no permissions")
}

// TestPostgresRoleIsLeastPrivilege gives the role the broad grants earlier
// versions gave (DML on every table, also future ones), sets it up twice on a
// private cluster (password authentication) over a migrated database, then
// proves what it may and may not do: the services' work goes through, audit
// history cannot be rewritten and schema_migrations is out of reach.
func TestPostgresRoleIsLeastPrivilege(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	superURL := testenv.PrivatePostgres(t)
	super, err := pgx.Connect(ctx, superURL)
	require.NoError(t, err)
	_, err = super.Exec(ctx, "CREATE DATABASE mutt")
	require.NoError(t, err)
	require.NoError(t, super.Close(ctx))
	u, err := url.Parse(superURL)
	require.NoError(t, err)
	u.Path = "/mutt"
	admin := testenv.PostgresAt(t, u.String()) // migrations run as the owner

	// An installation set up by an earlier version.
	for _, q := range []string{
		"CREATE ROLE mutt_app LOGIN PASSWORD 'pw-1'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mutt_app",
		"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mutt_app",
	} {
		_, err := admin.Exec(ctx, q)
		require.NoError(t, err, q)
	}

	require.NoError(t, secrets.SetupPostgresRole(ctx, admin, "mutt_app", "pw-1", "mutt"))
	require.NoError(t, secrets.SetupPostgresRole(ctx, admin, "mutt_app", "other", "mutt"), "idempotent")
	require.Error(t, secrets.SetupPostgresRole(ctx, admin, "postgres", "pw", "mutt"))

	appURL := *u
	appURL.User = url.UserPassword("mutt_app", "pw-1") // unchanged by the second setup
	app, err := pgxpool.New(ctx, appURL.String())
	require.NoError(t, err)
	t.Cleanup(app.Close)
	require.NoError(t, app.Ping(ctx))

	// The password changes only when asked.
	require.NoError(t, secrets.SetupPostgresRole(ctx, admin, "mutt_app", "pw-2", "mutt", secrets.ResetPassword()))
	appURL.User = url.UserPassword("mutt_app", "pw-2")
	app2, err := pgxpool.New(ctx, appURL.String())
	require.NoError(t, err)
	t.Cleanup(app2.Close)
	require.NoError(t, app2.Ping(ctx))

	var isSuper, createDB, createRole bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'mutt_app'").
		Scan(&isSuper, &createDB, &createRole))
	require.False(t, isSuper || createDB || createRole)

	// A partition that maintenance creates (as the admin) after setup.
	_, err = schema.EnsurePartitions(ctx, admin, time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC), 1)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE TABLE later (id bigserial PRIMARY KEY, v text)")
	require.NoError(t, err)

	// What the services do.
	for tbl := range secrets.ServiceTablePrivileges {
		_, err := app2.Exec(ctx, "SELECT * FROM "+pgx.Identifier{tbl}.Sanitize()+" LIMIT 1")
		require.NoError(t, err, tbl)
	}
	for _, ts := range []string{"2026-12-15T00:00:00Z", "2031-05-15T00:00:00Z", "1999-01-01T00:00:00Z"} {
		_, err = app2.Exec(ctx, `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname, handling_decision)
			VALUES (gen_random_uuid(), $1, now(), 'h', 'x') ON CONFLICT (event_id, event_timestamp) DO NOTHING`, ts)
		require.NoError(t, err, "audit insert at %s", ts)
	}
	var n int
	require.NoError(t, app2.QueryRow(ctx, "SELECT count(*) FROM event_audit_log").Scan(&n))
	require.Equal(t, 3, n)
	_, err = app2.Exec(ctx, `INSERT INTO config_audit_log (changed_by, operation, table_name, record_id) VALUES ('t', 'CREATE', 'alert_rules', '1')`)
	require.NoError(t, err)
	var ruleID int
	require.NoError(t, app2.QueryRow(ctx, `INSERT INTO alert_rules (match_string, prod_handling, dev_handling, team_assignment)
		VALUES ('x', 'p', 'd', 't') RETURNING id`).Scan(&ruleID))
	_, err = app2.Exec(ctx, "UPDATE alert_rules SET priority = 5 WHERE id = $1", ruleID)
	require.NoError(t, err)
	_, err = app2.Exec(ctx, "DELETE FROM alert_rules WHERE id = $1", ruleID)
	require.NoError(t, err)

	// And nothing more: no rewriting of history, no migrations table, no DDL.
	for name, q := range map[string]string{
		"update audit":           "UPDATE event_audit_log SET hostname = 'forged'",
		"delete audit":           "DELETE FROM event_audit_log",
		"delete audit partition": "DELETE FROM event_audit_log_p203105",
		"update audit partition": "UPDATE event_audit_log_p202612 SET hostname = 'forged'",
		"delete default part":    "DELETE FROM event_audit_log_default",
		"update config audit":    "UPDATE config_audit_log SET changed_by = 'someone else'",
		"delete config audit":    "DELETE FROM config_audit_log",
		"delete archive":         "DELETE FROM event_audit_log_archive",
		"insert slo report":      `INSERT INTO slo_reports (status, report) VALUES ('ok', '{}')`,
		"read migrations":        "SELECT * FROM schema_migrations",
		"insert migrations":      "INSERT INTO schema_migrations (version, name) VALUES (999, 'evil')",
		"delete migrations":      "DELETE FROM schema_migrations",
		"table created later":    "SELECT * FROM later",
		"setval":                 "SELECT setval('config_audit_log_id_seq', 1)",
		"create database":        "CREATE DATABASE evil",
		"create role":            "CREATE ROLE evil",
		"pg_authid":              "SELECT rolpassword FROM pg_authid",
		"drop table":             "DROP TABLE later",
		"truncate":               "TRUNCATE event_audit_log",
		"alter table":            "ALTER TABLE alert_rules ADD COLUMN w text",
		"create table":           "CREATE TABLE evil (id int)",
	} {
		_, err := app2.Exec(ctx, q)
		require.Error(t, err, name)
	}
	require.NoError(t, app2.QueryRow(ctx, "SELECT count(*) FROM event_audit_log WHERE hostname = 'h'").Scan(&n))
	require.Equal(t, 3, n, "history unchanged")
}
