package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	muttapp "github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// jsonRun runs muttdev -o json args, requires exit code want and returns stdout.
func (d *devInstance) jsonRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	r := muttdev(t, d.env, "", append([]string{"-o", "json"}, args...)...)
	require.Equal(t, want, r.code, "muttdev %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	return r.stdout
}

func (d *devInstance) db(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), d.env["DATABASE_URL"])
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func (d *devInstance) auditRows(t *testing.T, table string) []map[string]any {
	t.Helper()
	rows, err := d.db(t).Query(context.Background(), `SELECT changed_by, operation, record_id, reason, old_values, new_values
		FROM config_audit_log WHERE table_name = $1 ORDER BY id`, table)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err)
	return out
}

// TestCommandsAgainstMuttDev runs every muttdev command against a real
// running `mutt dev` and compares its --output json with testdata/*.golden
// (volatile values normalised; go test -update rewrites them).
func TestCommandsAgainstMuttDev(t *testing.T) {
	t.Parallel()
	d := startMuttDev(t)
	ctx := context.Background()

	t.Run("status", func(t *testing.T) {
		out := d.jsonRun(t, exitOK, "status")
		// The banner again (issue 12): the dev instance's URLs and keys; its
		// pid, database, Temporal UI and Prometheus differ between machines.
		golden(t, "status", d.norm("last_run", "next_run", "last_outcome", "pid", "database", "temporal_ui", "prometheus").json(t, out))
		r := muttdev(t, d.env, "", "status")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "dev instance (pid ")
		require.Contains(t, r.stdout, "http://"+d.env["MUTT_API_ADDR"]+"/api/v2   (X-API-KEY: "+muttapp.DevAPIAdminKey+")")
		info, err := os.Stat(filepath.Join(filepath.Dir(d.env["MUTT_DEV_LOG_FILE"]), "dev-state-"+muttapp.DevInstance(d.prefix)+".json"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the state file holds API keys")
		// The live dashboard lists the worker of mutt dev as up (ADR 0030).
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			req, err := http.NewRequest(http.MethodGet, d.env["MUTT_API_URL"]+"/api/v2/dashboard", nil)
			if !assert.NoError(c, err) {
				return
			}
			req.Header.Set("X-API-KEY", muttapp.DevAPIAdminKey)
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(c, err) {
				return
			}
			defer func() { _ = resp.Body.Close() }()
			var dash struct {
				Roles []struct {
					Role      string `json:"role"`
					Instances int    `json:"instances"`
					Healthy   bool   `json:"healthy"`
				} `json:"roles"`
			}
			assert.NoError(c, json.NewDecoder(resp.Body).Decode(&dash))
			up := map[string]int{}
			for _, r := range dash.Roles {
				if r.Healthy {
					up[r.Role] = r.Instances
				}
			}
			assert.Equal(c, map[string]int{"ingestor": 1, "alerter": 1, "forwarder": 1, "api": 1, "worker": 1}, up)
		}, 30*time.Second, 200*time.Millisecond)
		require.Contains(t, r.stdout, d.prefix+"dlq:poison")
		require.Contains(t, r.stdout, "moogsoft circuit breaker: closed")
	})

	t.Run("setup", func(t *testing.T) {
		out := d.jsonRun(t, exitOK, "setup")
		golden(t, "setup", d.norm().json(t, out))
	})

	t.Run("config", func(t *testing.T) {
		golden(t, "config-list", d.norm().json(t, d.jsonRun(t, exitOK, "config", "list")))
		golden(t, "config-get", d.norm().json(t, d.jsonRun(t, exitOK, "config", "get", "unhandled_threshold")))
		golden(t, "config-set", d.norm().json(t, d.jsonRun(t, exitOK, "config", "set", "unhandled_threshold", "250", "--reason", "noisy week")))
		golden(t, "config-delete", d.norm().json(t, d.jsonRun(t, exitOK, "config", "delete", "unhandled_threshold", "--reason", "week is over")))
		// The bug this replaces: a change without a config_audit_log row.
		rows := d.auditRows(t, "dynamic_config")
		require.Len(t, rows, 2)
		require.Equal(t, []any{"UPDATE", "unhandled_threshold", "noisy week"}, []any{rows[0]["operation"], rows[0]["record_id"], rows[0]["reason"]})
		require.Equal(t, []any{"DELETE", "unhandled_threshold", "week is over"}, []any{rows[1]["operation"], rows[1]["record_id"], rows[1]["reason"]})
		// Refusals of the API are exit 4, with its message.
		r := muttdev(t, d.env, "", "config", "set", "unhandled_threshold", "0", "--reason", "x")
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "unhandled_threshold")
		require.Equal(t, exitRefused, muttdev(t, d.env, "", "config", "get", "no_such_key").code)
		require.Equal(t, exitRefused, muttdev(t, d.env, "", "--api-key", "wrong", "config", "list").code)
		require.Len(t, d.auditRows(t, "dynamic_config"), 2, "refused changes are not audited")
		r = muttdev(t, d.env, "", "config", "get", "unhandled_threshold")
		require.Equal(t, exitOK, r.code)
		require.Regexp(t, `unhandled_threshold\s+100\s+100\s+default`, r.stdout)
	})

	t.Run("rules", func(t *testing.T) {
		r := muttdev(t, d.env, "", "rules", "export")
		require.Equal(t, exitOK, r.code, r.stderr)
		golden(t, "rules-export.yaml", r.stdout)
		golden(t, "rules-export", d.norm().json(t, d.jsonRun(t, exitOK, "rules", "export")))

		// Edit the export as an operator would: change one rule, drop another, add one.
		file := filepath.Join(t.TempDir(), "rules.yaml")
		doc, err := parseRulesFile([]byte(r.stdout))
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(doc.Rules), 2)
		doc.Rules[0].Priority += 5
		doc.Rules[0].ProdHandling = "Ticket_Only" // case-insensitive, as the API stores it
		doc.Rules = doc.Rules[:len(doc.Rules)-1]
		ms := "BGP-5-ADJCHANGE"
		doc.Rules = append(doc.Rules, RuleDoc{MatchType: "contains", MatchString: &ms, Priority: 40,
			ProdHandling: "page_only", DevHandling: "ignore", TeamAssignment: "NETO", IsActive: true})
		writeRules(t, file, doc)

		golden(t, "rules-import-dry-run", d.norm().json(t, d.jsonRun(t, exitOK, "rules", "import", file, "--prune", "--dry-run")))
		r = muttdev(t, d.env, "", "rules", "import", file, "--prune", "--dry-run")
		require.Equal(t, exitOK, r.code)
		require.Contains(t, r.stdout, "priority: ")
		require.Contains(t, r.stdout, "would apply (dry run): 1 created, 1 updated, 1 deleted")
		require.Equal(t, r.stdout, muttdev(t, d.env, "", "rules", "import", file, "--prune", "--dry-run").stdout, "a dry run changes nothing")

		golden(t, "rules-import", d.norm().json(t, d.jsonRun(t, exitOK, "rules", "import", file, "--prune", "--reason", "reviewed in git")))
		golden(t, "rules-import-again", d.norm().json(t, d.jsonRun(t, exitOK, "rules", "import", file, "--prune", "--reason", "reviewed in git")))
		rows := d.auditRows(t, "alert_rules")
		require.Len(t, rows, 3, "one audit row per change")
		for _, row := range rows {
			require.Equal(t, "reviewed in git", row["reason"])
		}
		// The new export is the file, with the created rule's id.
		var after RulesFile
		require.NoError(t, json.Unmarshal([]byte(d.jsonRun(t, exitOK, "rules", "export")), &after))
		require.Len(t, after.Rules, len(doc.Rules))
		// The syslog conditions survive export and import (an import that
		// dropped them would clear them: PUT replaces the rule).
		app, fac := "sshd", 4
		for i := range after.Rules {
			if after.Rules[i].MatchString != nil && *after.Rules[i].MatchString == ms {
				after.Rules[i].AppName, after.Rules[i].Facility = &app, &fac
			}
		}
		writeRules(t, file, after)
		var res ImportResult
		require.NoError(t, json.Unmarshal([]byte(d.jsonRun(t, exitOK, "rules", "import", file, "--reason", "sshd only")), &res))
		require.Equal(t, 1, res.Updated, "%+v", res)
		var synced RulesFile
		require.NoError(t, json.Unmarshal([]byte(d.jsonRun(t, exitOK, "rules", "export")), &synced))
		found := false
		for _, r := range synced.Rules {
			if r.MatchString != nil && *r.MatchString == ms {
				found = true
				require.Equal(t, &app, r.AppName)
				require.Equal(t, &fac, r.Facility)
			}
		}
		require.True(t, found)
		res = ImportResult{}
		require.NoError(t, json.Unmarshal([]byte(d.jsonRun(t, exitOK, "rules", "import", file, "--reason", "sshd only")), &res))
		require.Equal(t, len(after.Rules), res.Unchanged, "%+v", res)
		// An invalid file is a usage error naming the field, before any change.
		require.NoError(t, os.WriteFile(file, []byte("rules:\n  - match_type: contains\n    colour: red\n"), 0o644))
		r = muttdev(t, d.env, "", "rules", "import", file, "--reason", "x")
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "colour")
	})

	t.Run("db", func(t *testing.T) {
		golden(t, "db-migrate", d.norm().json(t, d.jsonRun(t, exitOK, "db", "migrate")))
		golden(t, "db-status", d.norm("applied_at").json(t, d.jsonRun(t, exitOK, "db", "status")))
		golden(t, "db-partitions", d.norm("estimated_rows").json(t, d.jsonRun(t, exitOK, "db", "partitions")))
	})

	t.Run("dlq", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		t.Cleanup(func() { _ = rdb.Close() })
		keys := keyspace.New(d.prefix, 1)
		// The scheduled remediation (every 5 minutes) must not replay the entries this test counts.
		tc, err := client.Dial(client.Options{HostPort: d.env["TEMPORAL_ADDRESS"]})
		require.NoError(t, err)
		defer tc.Close()
		_, schedPrefix := muttapp.DevTemporal(d.prefix)
		require.NoError(t, tc.ScheduleClient().GetHandle(ctx, schedPrefix+"mutt-dlq-remediation").
			Pause(ctx, client.SchedulePauseOptions{Note: "muttdev test counts DLQ entries"}))
		for i := range 3 {
			ev := fmt.Sprintf(`{"hostname":"h%d","message":"m","timestamp":"2026-01-01T00:00:00Z"}`, i)
			require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlerterDLQ(), Values: []any{
				"reason", "postgres_unavailable", "error", "audit insert failed", "attempts", "5",
				"failed_at", "2026-01-01T00:00:01Z", "source_stream", keys.IngestStream(0), "source_id", fmt.Sprintf("1-%d", i),
				stream.Field, ev}}).Err())
		}
		golden(t, "dlq-list", d.norm().json(t, d.jsonRun(t, exitOK, "dlq", "list")))
		golden(t, "dlq-show", d.norm().json(t, d.jsonRun(t, exitOK, "dlq", "show", "alerter", "--count", "2")))
		golden(t, "dlq-replay-dry-run", d.norm("workflow_id", "run_id").json(t, d.jsonRun(t, exitOK, "dlq", "replay", "alerter", "--dry-run")))
		require.EqualValues(t, 3, rdb.XLen(ctx, keys.AlerterDLQ()).Val(), "a dry run moves nothing")

		// purge asks first; anything but "yes" deletes nothing and is a usage error.
		r := muttdev(t, d.env, "no\n", "dlq", "purge", "alerter", "--reason", "test data")
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "Delete 3 entries")
		require.EqualValues(t, 3, rdb.XLen(ctx, keys.AlerterDLQ()).Val())
		require.Empty(t, d.auditRows(t, "dlq"))
		r = muttdev(t, d.env, "yes\n", "-o", "json", "dlq", "purge", "alerter", "--reason", "test data")
		require.Equal(t, exitOK, r.code, r.stderr)
		golden(t, "dlq-purge", d.norm().json(t, r.stdout))
		require.Zero(t, rdb.XLen(ctx, keys.AlerterDLQ()).Val())
		rows := d.auditRows(t, "dlq")
		require.Len(t, rows, 1)
		require.Equal(t, []any{"muttdev:tester", "DELETE", keys.AlerterDLQ(), "test data"},
			[]any{rows[0]["changed_by"], rows[0]["operation"], rows[0]["record_id"], rows[0]["reason"]})
		require.EqualValues(t, 3, rows[0]["old_values"].(map[string]any)["entries"])

		// replay for real: the entry goes back to the ingest stream, through the alerter, into the audit.
		ev := fmt.Sprintf(`{"event_id":"0190f3a2-7b1c-7def-8abc-1234567890ab","hostname":"router9.prod.example.com","message":"LINK-DOWN replayed","timestamp":"%s","received_at":"%s","source":"http","correlation_id":"replay-test"}`,
			time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.AlerterDLQ(), Values: []any{
			"reason", "postgres_unavailable", "error", "audit insert failed", "attempts", "5",
			"failed_at", "2026-01-01T00:00:01Z", stream.Field, ev}}).Err())
		var rep struct {
			Status string `json:"status"`
			Result struct {
				Streams []struct {
					Stream   string `json:"stream"`
					Replayed int    `json:"replayed"`
				} `json:"streams"`
			} `json:"result"`
		}
		require.NoError(t, json.Unmarshal([]byte(d.jsonRun(t, exitOK, "dlq", "replay", "alerter")), &rep))
		require.Equal(t, "done", rep.Status)
		require.Len(t, rep.Result.Streams, 1)
		require.Equal(t, 1, rep.Result.Streams[0].Replayed)
		require.Zero(t, rdb.XLen(ctx, keys.AlerterDLQ()).Val())
	})

	t.Run("rotate", func(t *testing.T) {
		golden(t, "rotate-dry-run", d.norm("run_id", "at", "detail").json(t, d.jsonRun(t, exitOK, "rotate", "webui_api_key", "--dry-run", "--grace", "1s")))
	})

	t.Run("logs", func(t *testing.T) {
		// Every request to the admin API above is in the log of mutt dev.
		out := d.jsonRun(t, exitOK, "logs", "api", "--tail", "3")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 3, out)
		for _, l := range lines {
			var ll logLine
			require.NoError(t, json.Unmarshal([]byte(l), &ll))
			require.Equal(t, "api", ll.Service)
			require.Contains(t, ll.Line, "component=api")
		}
		r := muttdev(t, d.env, "", "logs", "alerter", "--tail", "-1")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.NotContains(t, r.stdout, "component=api ")

		// --follow prints lines written after it started, until interrupted.
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		buf := &testenv.LogBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- execute(fctx, []string{"logs", "api", "--tail", "0", "--follow"}, d.env, strings.NewReader(""), buf, buf)
		}()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			// A refused request: answered ones are logged at debug only.
			execute(context.Background(), []string{"config", "get", "no_such_key"}, d.env, strings.NewReader(""), io.Discard, io.Discard)
			assert.Contains(c, buf.String(), "route=/api/v2/config/:key")
		}, 20*time.Second, 300*time.Millisecond)
		cancel()
		require.Equal(t, exitOK, <-done)

		// compose and Kubernetes: the tools are run with the right arguments.
		bin := t.TempDir()
		for _, tool := range []string{"docker", "kubectl"} {
			require.NoError(t, os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho "+tool+" \"$@\"\n"), 0o755))
		}
		env := map[string]string{"PATH": bin}
		r = muttdev(t, env, "", "logs", "alerter", "--via", "compose", "--tail", "20", "--follow")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Equal(t, "docker compose logs --no-color --tail 20 --follow alerter\n", r.stdout)
		r = muttdev(t, env, "", "logs", "worker", "--via", "k8s", "--namespace", "mutt", "-n", "5")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Equal(t, "kubectl logs -n mutt deployment/mutt-worker --tail 5\n", r.stdout)
		require.Equal(t, exitFailure, muttdev(t, map[string]string{"PATH": t.TempDir()}, "", "logs", "api", "--via", "k8s").code,
			"a missing tool is a failure that names it")
	})

	t.Run("probe", func(t *testing.T) {
		golden(t, "probe", d.norm().json(t, d.jsonRun(t, exitOK, "probe", "http://"+d.env["MUTT_INGEST_ADDR"]+"/health")))
		require.Equal(t, exitFailure, muttdev(t, d.env, "", "probe", "http://"+d.env["MUTT_INGEST_ADDR"]+"/nope").code)
	})

	t.Run("completion", func(t *testing.T) {
		for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
			r := muttdev(t, d.env, "", "completion", sh)
			require.Equal(t, exitOK, r.code, sh)
			require.Contains(t, r.stdout, "muttdev", sh)
		}
		r := muttdev(t, d.env, "", "__complete", "rotate", "")
		require.Contains(t, r.stdout, "webui_api_key", "targets complete")
	})

	t.Run("test", func(t *testing.T) {
		r := muttdev(t, d.env, "", "test", "unit", "--dry-run")
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "go test -count 1 -timeout 15m github.com/mutt-ops/mutt/")
	})
}

func writeRules(t *testing.T, path string, doc RulesFile) {
	t.Helper()
	b, err := json.Marshal(doc) // YAML is a superset of JSON
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
