package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/testenv"
)

func TestConfigListAndGetReadRedis(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "42", 0).Err())
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("alerter_shed_mode"), "bogus", 0).Err())
	for _, v := range []string{"v1", "v2"} {
		r := e.do(t, "GET", "/api/"+v+"/config", testReadOnlyKey, nil)
		require.Equal(t, 200, r.code)
		require.Equal(t, v, r.h.Get("X-API-Version"))
		var body struct {
			Config []ConfigItem `json:"config"`
			Items  []ConfigItem `json:"items"` // v1: "config" is the Python MUTT's key: value object
			Total  int          `json:"total"`
		}
		if v == "v1" {
			var legacy struct {
				Config map[string]string `json:"config"`
			}
			require.NoError(t, json.Unmarshal(r.body, &legacy))
			require.Equal(t, "42", legacy.Config["unhandled_threshold"])
			require.NoError(t, json.Unmarshal(r.body, &struct {
				Items *[]ConfigItem `json:"items"`
				Total *int          `json:"total"`
			}{&body.Config, &body.Total}))
		} else {
			require.NoError(t, json.Unmarshal(r.body, &body))
		}
		require.Len(t, body.Config, len(dynconfig.Keys()))
		require.Equal(t, len(dynconfig.Keys()), body.Total)
		byKey := map[string]ConfigItem{}
		for _, it := range body.Config {
			byKey[it.Key] = it
			require.NotEmpty(t, it.Description)
			require.NotEmpty(t, it.Type)
		}
		require.Equal(t, float64(42), byKey["unhandled_threshold"].Value)
		require.Equal(t, "redis", byKey["unhandled_threshold"].Source)
		require.Equal(t, float64(100), byKey["unhandled_threshold"].Default)
		require.NotNil(t, byKey["unhandled_threshold"].Min)
		require.Equal(t, "invalid", byKey["alerter_shed_mode"].Source)
		require.Equal(t, "defer", byKey["alerter_shed_mode"].Value)
		require.Equal(t, []string{"defer", "dlq"}, byKey["alerter_shed_mode"].Enum)
		require.Equal(t, "default", byKey["alerter_batch_size"].Source)
	}
	r := e.do(t, "GET", "/api/v2/config/unhandled_threshold", testReadOnlyKey, nil)
	require.Equal(t, 200, r.code)
	require.Equal(t, float64(42), r.json(t)["value"])
	// Changed behind the API's back: still read from Redis, not a cache.
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "43", 0).Err())
	require.Equal(t, float64(43), e.do(t, "GET", "/api/v1/config/unhandled_threshold", testAdminKey, nil).json(t)["value"])
	requireError(t, e.do(t, "GET", "/api/v2/config/no_such_key", testAdminKey, nil), 404, errNotFound)
}

func TestConfigPutAuditsAndPublishes(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	sub := e.rdb.Subscribe(ctx, e.keys.ConfigUpdates())
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err)

	r := e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey,
		map[string]any{"value": 250, "reason": "noisy week"}, "X-Correlation-ID", "corr-put-1")
	require.Equal(t, 200, r.code, string(r.body))
	require.Equal(t, float64(250), r.json(t)["value"])
	require.Equal(t, "redis", r.json(t)["source"])
	require.Equal(t, "250", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val())
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, "unhandled_threshold", msg.Payload)

	var by, op, table, rec, reason, corr string
	var oldV, newV []byte
	require.NoError(t, e.db.QueryRow(ctx, `SELECT changed_by, operation, table_name, record_id, old_values, new_values, reason, correlation_id
		FROM config_audit_log`).Scan(&by, &op, &table, &rec, &oldV, &newV, &reason, &corr))
	require.Equal(t, []string{KeyName(testKeyNameSecret, testAdminKey, true), "UPDATE", "dynamic_config", "unhandled_threshold", "noisy week", "corr-put-1"},
		[]string{by, op, table, rec, reason, corr})
	require.JSONEq(t, `{"value":"100","source":"default"}`, string(oldV))
	require.JSONEq(t, `{"value":"250","source":"redis"}`, string(newV))

	// String and bool JSON values; v1 works the same.
	require.Equal(t, 200, e.do(t, "PUT", "/api/v1/config/alerter_shed_mode", testAdminKey, map[string]any{"value": "dlq"}).code)
	require.Equal(t, 200, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey, map[string]any{"value": "300"}).code)
	require.NoError(t, e.db.QueryRow(ctx, `SELECT old_values FROM config_audit_log WHERE record_id = 'unhandled_threshold' ORDER BY id DESC LIMIT 1`).Scan(&oldV))
	require.JSONEq(t, `{"value":"250","source":"redis"}`, string(oldV))

	// History: newest first, paginated.
	h := e.do(t, "GET", "/api/v2/config/history?limit=2", testReadOnlyKey, nil)
	require.Equal(t, 200, h.code)
	var hist struct {
		History    []ConfigHistoryEntry `json:"history"`
		Pagination map[string]int       `json:"pagination"`
	}
	require.NoError(t, json.Unmarshal(h.body, &hist))
	require.Equal(t, map[string]int{"limit": 2, "offset": 0, "total": 3, "page": 1, "pages": 2}, hist.Pagination)
	require.Len(t, hist.History, 2)
	require.Equal(t, "unhandled_threshold", hist.History[0].Key)
	require.Equal(t, "alerter_shed_mode", hist.History[1].Key)
	require.Greater(t, hist.History[0].ID, hist.History[1].ID)
	require.Regexp(t, `"changed_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`, string(h.body))
	h = e.do(t, "GET", "/api/v1/config/history?offset=2&key=unhandled_threshold", testReadOnlyKey, nil)
	require.NoError(t, json.Unmarshal(h.body, &hist))
	require.Empty(t, hist.History)
	require.Equal(t, 2, hist.Pagination["total"])
	for _, q := range []string{"limit=0", "limit=x", "offset=-1", "key=nope"} {
		requireError(t, e.do(t, "GET", "/api/v2/config/history?"+q, testAdminKey, nil), 400, errBadRequest)
	}
}

func TestConfigPutRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	p := "/api/v2/config/unhandled_threshold"
	cases := []struct {
		body    any
		errCode string
		want    string
	}{
		{`{"value": "abc"}`, errInvalidValue, "unhandled_threshold"},
		{`{"value": 0}`, errInvalidValue, "unhandled_threshold"},
		{`{"value": 1.5}`, errInvalidValue, "unhandled_threshold"},
		{`{"value": true}`, errInvalidValue, "unhandled_threshold"},
		{`{"value": null}`, errBadRequest, "value"},
		{`{}`, errBadRequest, "value"},
		{`{"value": [1]}`, errBadRequest, "value"},
		{`{"value": 5, "extra": 1}`, errBadRequest, "body"},
		{`not json`, errBadRequest, "body"},
		{``, errBadRequest, "body"},
	}
	for _, tc := range cases {
		m := requireError(t, e.do(t, "PUT", p, testAdminKey, tc.body), 400, tc.errCode)
		require.Contains(t, m["message"], tc.want, tc.body)
	}
	long := make([]byte, maxReason+1)
	for i := range long {
		long[i] = 'r'
	}
	requireError(t, e.do(t, "PUT", p, testAdminKey, map[string]any{"value": 5, "reason": string(long)}), 400, errBadRequest)
	// Over the body limit: 413, as every other write answers (it was a 400).
	requireError(t, e.do(t, "PUT", p, testAdminKey, `{"value": 5, "reason": "`+strings.Repeat("r", maxBody)+`"}`), 413, errBodyTooLarge)
	requireError(t, e.do(t, "PUT", "/api/v2/config/nope", testAdminKey, map[string]any{"value": 5}), 404, errNotFound)
	requireError(t, e.do(t, "PUT", "/api/v2/config/alerter_shed_mode", testAdminKey, map[string]any{"value": "drop"}), 400, errInvalidValue)
	// A string value longer than its key's limit is refused, naming the key and the limit.
	m := requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_default_team", testAdminKey,
		map[string]any{"value": strings.Repeat("T", 100000)}), 400, errInvalidValue)
	require.Equal(t, "unhandled_default_team: value is 100000 characters long, the limit is 256", m["message"])
	require.Zero(t, e.rdb.Exists(ctx, e.keys.Config("unhandled_default_team")).Val())
	var n int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n)
	require.Zero(t, e.rdb.Exists(ctx, e.keys.Config("unhandled_threshold")).Val())
}

func TestConfigPutFailedAuditChangesNothing(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "77", 0).Err())
	// This test's own database: make every dynamic_config audit insert fail.
	_, err := e.db.Exec(ctx, `ALTER TABLE config_audit_log ADD CONSTRAINT test_no_config_audit CHECK (table_name <> 'dynamic_config')`)
	require.NoError(t, err)
	r := requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey, map[string]any{"value": 5}), 503, errUnavailable)
	require.NotContains(t, r["message"], "test_no_config_audit", "no database text leaks")
	require.NotContains(t, r["message"], "constraint")
	require.Equal(t, "77", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val())
	var n int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n)
}

// limitedRedis is a client of a fresh ACL user of the shared Redis that may
// use this test's keys but not the commands in deny (e.g. "-publish").
func limitedRedis(t *testing.T, keys keyspace.Keys, deny ...string) redis.UniversalClient {
	t.Helper()
	ctx := context.Background()
	admin, _ := testenv.Redis(t)
	user := "test-" + uuid.NewString()[:12]
	rules := append([]any{"ACL", "SETUSER", user, "on", ">pw", "~" + keys.Prefix + "*", "&*", "+@all"}, toAny(deny)...)
	require.NoError(t, admin.Do(ctx, rules...).Err())
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	opts.Username, opts.Password = user, "pw"
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Redis refusing the change after the audit row was inserted: the audit row
// is rolled back and Redis keeps its old value, even when only the publish
// (after the SET) is refused.
func TestConfigPutRedisFailureAfterAuditChangesNothing(t *testing.T) {
	t.Parallel()
	for _, deny := range []string{"-set", "-publish"} {
		t.Run(deny, func(t *testing.T) {
			t.Parallel()
			e := newCoreEnv(t, func(o *Options) { o.Redis = limitedRedis(t, o.Keys, deny) })
			ctx := context.Background()
			require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "77", 0).Err())
			r := requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey, map[string]any{"value": 5}), 503, errUnavailable)
			require.NotContains(t, r["message"], "NOPERM", "no Redis text leaks")
			require.Equal(t, "77", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val())
			var n int
			require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
			require.Zero(t, n, "the audit row was rolled back")
		})
	}
}

// A commit that fails after Redis was changed puts the old value back (or
// removes a key that had none), so Redis and the audit log agree.
func TestConfigPutCommitFailureRestoresRedis(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	// This test's own database: every dynamic_config audit row fails at commit.
	_, err := e.db.Exec(ctx, `
		CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'test: commit refused'; END $$;
		CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON config_audit_log
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit();`)
	require.NoError(t, err)
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "77", 0).Err())
	sub := e.rdb.Subscribe(ctx, e.keys.ConfigUpdates())
	t.Cleanup(func() { _ = sub.Close() })
	_, err = sub.Receive(ctx)
	require.NoError(t, err)

	r := requireError(t, e.do(t, "PUT", "/api/v2/config/unhandled_threshold", testAdminKey, map[string]any{"value": 5}), 503, errUnavailable)
	require.Contains(t, r["message"], "undone")
	require.NotContains(t, r["message"], "commit refused", "no database text leaks")
	require.Equal(t, "77", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val())

	requireError(t, e.do(t, "PUT", "/api/v2/config/alerter_batch_size", testAdminKey, map[string]any{"value": 10}), 503, errUnavailable)
	require.Zero(t, e.rdb.Exists(ctx, e.keys.Config("alerter_batch_size")).Val(), "a key that had no value has none again")

	var n int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Zero(t, n)
	// Services were told about the undo too: the last notice for each key
	// comes after its restore, so they re-read the old value.
	seen := map[string]int{}
	for len(seen) < 2 || seen["unhandled_threshold"] < 2 || seen["alerter_batch_size"] < 2 {
		m, err := sub.ReceiveTimeout(ctx, 5*time.Second)
		require.NoError(t, err, "notices so far: %v", seen)
		if msg, ok := m.(*redis.Message); ok {
			seen[msg.Payload]++
		}
	}
}

// TestConfigDeleteAuditsAndResetsToDefault: DELETE /config/{key} drops the
// stored value (services fall back to the default), tells them, and writes a
// DELETE audit row in the same transaction; deleting again changes nothing.
func TestConfigDeleteAuditsAndResetsToDefault(t *testing.T) {
	t.Parallel()
	e := newCoreEnv(t)
	ctx := context.Background()
	require.NoError(t, e.rdb.Set(ctx, e.keys.Config("unhandled_threshold"), "250", 0).Err())
	sub := e.rdb.Subscribe(ctx, e.keys.ConfigUpdates())
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err)

	requireError(t, e.do(t, "DELETE", "/api/v2/config/unhandled_threshold", testReadOnlyKey, nil), 403, errForbidden)
	requireError(t, e.do(t, "DELETE", "/api/v2/config/no_such_key", testAdminKey, nil), 404, errNotFound)
	requireError(t, e.do(t, "DELETE", "/api/v2/config/unhandled_threshold", testAdminKey, `{"reason":1}`), 400, errInvalidBody)
	require.Equal(t, "250", e.rdb.Get(ctx, e.keys.Config("unhandled_threshold")).Val(), "refused deletes change nothing")

	r := e.do(t, "DELETE", "/api/v2/config/unhandled_threshold", testAdminKey,
		map[string]any{"reason": "back to normal"}, "X-Correlation-ID", "corr-del-1")
	require.Equal(t, 200, r.code, string(r.body))
	require.Equal(t, "default", r.json(t)["source"])
	require.Equal(t, float64(100), r.json(t)["value"])
	require.Zero(t, e.rdb.Exists(ctx, e.keys.Config("unhandled_threshold")).Val())
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, "unhandled_threshold", msg.Payload)

	var op, rec, reason, corr string
	var oldV []byte
	var newV *string
	require.NoError(t, e.db.QueryRow(ctx, `SELECT operation, record_id, old_values, new_values, reason, correlation_id
		FROM config_audit_log`).Scan(&op, &rec, &oldV, &newV, &reason, &corr))
	require.Equal(t, []string{"DELETE", "unhandled_threshold", "back to normal", "corr-del-1"}, []string{op, rec, reason, corr})
	require.JSONEq(t, `{"value":"250","source":"redis"}`, string(oldV))
	require.Nil(t, newV)

	// v1 too, and idempotent: nothing stored → nothing written.
	require.Equal(t, 200, e.do(t, "DELETE", "/api/v1/config/unhandled_threshold", testAdminKey, nil).code)
	var n int
	require.NoError(t, e.db.QueryRow(ctx, `SELECT count(*) FROM config_audit_log`).Scan(&n))
	require.Equal(t, 1, n)
}
