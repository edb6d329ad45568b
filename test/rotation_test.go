package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/activities"
	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// rotationEnv is one MUTT deployment on servers that check passwords: a
// private redis-server and a private PostgreSQL cluster, the hot path running
// in one process (the "services") and an ops worker on its own task queue.
type rotationEnv struct {
	cfg        app.Config
	services   *app.Deps
	worker     *app.Deps     // AdminDB for migrations and audit queries
	admin      *redis.Client // the private server's default user (no password)
	file       *secrets.FileProvider
	temporal   client.Client
	taskQueue  string
	redisURL   string // the app URL, without credentials
	dbURL      string // the app URL, without credentials
	stopWorker context.CancelFunc
}

// newRotationEnv sets the deployment up like `mutt dev` does: setup stores
// the dev API keys in the secrets file (the environment gives none), so a
// rotation is the only thing deciding which keys work. The services process
// runs the ingestor, alerter, forwarder and admin API. redisAdmin builds the
// worker's Redis admin client (nil: the default user).
func newRotationEnv(t *testing.T, redisAdmin func(t *testing.T, admin *redis.Client) redis.UniversalClient) *rotationEnv {
	t.Helper()
	ctx := context.Background()
	redisAddr := testenv.PrivateRedis(t)
	pgAdminURL := testenv.PrivatePostgres(t)
	pgURL, err := url.Parse(pgAdminURL)
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, pgAdminURL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE DATABASE mutt")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	r := &rotationEnv{
		redisURL: "redis://" + redisAddr + "/0",
		dbURL:    fmt.Sprintf("postgres://%s/mutt?sslmode=disable", pgURL.Host),
	}
	env := devEnv(t)
	env["REDIS_URL"] = r.redisURL
	env["REDIS_ADMIN_URL"] = r.redisURL // the default user has no password on the private server
	env["DATABASE_URL"] = r.dbURL
	env["DATABASE_ADMIN_URL"] = fmt.Sprintf("postgres://postgres:admin@%s/mutt?sslmode=disable", pgURL.Host)
	r.cfg, err = app.ReadConfig(config.FromMap(env), true, app.AllRoles)
	require.NoError(t, err)

	log := telemetry.NewLogger(io.Discard, "text", "warn")
	require.NoError(t, app.Setup(ctx, r.cfg, log, io.Discard))
	r.file = secrets.NewFile(env["MUTT_SECRETS_FILE"], slog.New(slog.DiscardHandler))

	r.admin = redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = r.admin.Close() })

	r.worker = connectDB(t, r.cfg)
	require.NoError(t, app.Bootstrap(ctx, r.worker))
	// Every event reaches the simulator quickly: no Moogsoft rate limit.
	require.NoError(t, dynconfig.Set(ctx, r.admin, r.worker.Keys, "moog_rate_limit", "0"))
	require.NoError(t, dynconfig.Set(ctx, r.admin, r.worker.Keys, "moog_batch_size", "20"))

	r.services = start(t, r.cfg, app.MoogSim, app.Ingestor, app.Alerter, app.Forwarder, app.API)
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 200, getJSON(c, "http://"+r.cfg.Ingest.Addr+"/health", nil)) },
		10*time.Second, 50*time.Millisecond)
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 200, getJSON(c, "http://"+r.cfg.APIAddr+"/health", nil)) },
		10*time.Second, 50*time.Millisecond)
	// The secrets watcher advertises the process shortly after /health
	// answers; a rotation started before that would not wait for it.
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Len(c, r.instances(c), 1) }, 10*time.Second, 20*time.Millisecond,
		"the services process advertises itself")

	var ra redis.UniversalClient = r.admin
	if redisAdmin != nil {
		ra = redisAdmin(t, r.admin)
	}
	r.temporal, r.taskQueue = testenv.Temporal(t)
	wctx, cancel := context.WithCancel(ctx)
	r.stopWorker = cancel
	done := make(chan error, 1)
	go func() {
		done <- workers.RunWorker(wctx, r.temporal, r.taskQueue, &activities.Deps{
			DB: r.worker.AdminDB, Redis: r.services.Redis, Keys: r.services.Keys, Log: log,
			Registerer: telemetry.NewRegistry(), Secrets: secrets.NewFile(env["MUTT_SECRETS_FILE"], log),
			RedisAdmin: ra, RedisUsername: r.cfg.RedisUsername, DBAdmin: r.worker.AdminDB, DBUser: r.cfg.DBUser,
		})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return r
}

// snapshot reads the secrets file.
func (r *rotationEnv) snapshot(t *testing.T) secrets.Snapshot {
	t.Helper()
	s, err := r.file.Read(context.Background())
	require.NoError(t, err)
	return s
}

// rotate runs one rotation to its end and returns its result and error.
func (r *rotationEnv) rotate(t *testing.T, in workflows.SecretRotationInput) (workflows.SecretRotationResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := r.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: r.taskQueue + "-" + workflows.SecretRotationWorkflowID(in.Target), TaskQueue: r.taskQueue,
	}, workflows.SecretRotationWorkflow, in)
	require.NoError(t, err)
	var res workflows.SecretRotationResult
	err = run.Get(ctx, &res)
	// A failed rotation attaches its result to the failure.
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		require.NoError(t, app.Details(&res))
	}
	return res, err
}

// instances lists the instance ids advertised in Redis.
// instances are the processes advertising themselves; t may be an
// EventuallyWithT condition's collect T.
func (r *rotationEnv) instances(t assert.TestingT) []string {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	keys, err := r.admin.Keys(context.Background(), r.services.Keys.InstancesPattern()).Result()
	assert.NoError(t, err)
	return keys
}

// ingest posts one batch with key; it never calls require (it runs on the
// load goroutine), so failures come back as an error.
func ingest(addr, key, body string) (int, []string, string, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/ingest", strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, "", err
	}
	var out struct {
		EventIDs []string `json:"event_ids"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, string(raw), err
		}
	}
	return resp.StatusCode, out.EventIDs, string(raw), nil
}

// batch is n events matching the seed rule "ERROR" on prod hosts.
func batch(seq, n int) string {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = fmt.Sprintf(`{"hostname":"router%d.prod.example.com","timestamp":"%s","message":"ERROR %d-%d on the line"}`,
			i%7, time.Now().UTC().Format(time.RFC3339Nano), seq, i)
	}
	return "[" + strings.Join(evs, ",") + "]"
}

// loadResult is what the generator saw.
type loadResult struct {
	ids       []string
	rejected  []string // "code key=current|next: body" of every non-200 answer
	batches   int
	usedNext  int // batches sent with the new ingest key
	transport []string
}

// runLoad posts a batch of 10 events every 50 ms with the ingest key it
// believes valid: the original CURRENT until a rotation stores a NEXT, that
// NEXT from then on (and the new CURRENT after promotion, the same value).
func (r *rotationEnv) runLoad(ctx context.Context, oldKey string, accepted *atomic.Int64) <-chan loadResult {
	out := make(chan loadResult, 1)
	go func() {
		var res loadResult
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-ctx.Done():
				out <- res
				return
			case <-tick.C:
			}
			key, which := oldKey, "current"
			if s, err := r.file.Read(ctx); err == nil {
				if next := s.Get(secrets.IngestAPIKeyNext); next != "" && next != oldKey {
					key, which = next, "next"
				} else if cur := s.Get(secrets.IngestAPIKey); cur != oldKey {
					key, which = cur, "next"
				}
			}
			code, ids, body, err := ingest(r.cfg.Ingest.Addr, key, batch(seq, 10))
			res.batches++
			if which == "next" {
				res.usedNext++
			}
			switch {
			case err != nil:
				res.transport = append(res.transport, err.Error())
			case code != http.StatusOK:
				res.rejected = append(res.rejected, fmt.Sprintf("%d key=%s at %s: %s", code, which, time.Now().Format("15:04:05.000"), body))
			default:
				res.ids = append(res.ids, ids...)
				accepted.Add(1)
			}
		}
	}()
	return out
}

// requireDeliveredOnce checks every event id was audited exactly once and
// reached the simulator, and that the dead-letter queues are empty.
func (r *rotationEnv) requireDeliveredOnce(t *testing.T, ids []string) {
	t.Helper()
	ctx := context.Background()
	var st struct {
		Unique int `json:"unique"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if assert.Equal(c, 200, getJSON(c, "http://"+r.cfg.MoogSimAddr+"/stats", &st)) {
			assert.GreaterOrEqual(c, st.Unique, len(ids))
		}
	}, 30*time.Second, 50*time.Millisecond, "every accepted event_id reaches the simulator (%d of %d)", &st.Unique, len(ids))
	require.Equal(t, len(ids), st.Unique, "the simulator saw no event_id the test did not send")
	var rows, distinct int
	require.Eventually(t, func() bool {
		err := r.worker.AdminDB.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id) FROM event_audit_log WHERE event_id = ANY($1::uuid[])`,
			ids).Scan(&rows, &distinct)
		return err == nil && distinct == len(ids)
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, len(ids), rows, "exactly one audit row per event")
	for _, dlq := range []string{r.services.Keys.AlerterDLQ(), r.services.Keys.MoogDLQ()} {
		l, err := stream.Len(ctx, r.admin, dlq)
		require.NoError(t, err)
		require.Zero(t, l, dlq)
	}
}

// TestRotationUnderLoad rotates the Redis password, the PostgreSQL password
// and the ingest API key one after the other while a generator keeps posting
// events: no ingest is refused (the generator switches to the new key as soon
// as it is stored), every accepted event is audited once and delivered, the
// services run on without a restart, and each old credential stops working.
func TestRotationUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRotationEnv(t, nil)
	before := r.snapshot(t)
	oldRedis, oldDB, oldKey := before.Get(secrets.RedisPassCurrent), before.Get(secrets.DBPassCurrent), before.Get(secrets.IngestAPIKey)
	dbUser := before.Get(secrets.DBUser)
	require.Equal(t, app.DevIngestKey, oldKey, "mutt dev's setup stored the dev ingest key in the provider")
	require.NotEmpty(t, oldRedis)
	require.NotEmpty(t, oldDB)
	require.NotEmpty(t, dbUser)
	instancesBefore := r.instances(t)
	require.Len(t, instancesBefore, 1, "the services process advertises itself")

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var accepted atomic.Int64
	load := r.runLoad(loadCtx, oldKey, &accepted)
	// Some traffic flows on the original credentials first.
	require.Eventually(t, func() bool { return accepted.Load() >= 10 }, 10*time.Second, 20*time.Millisecond)
	for _, in := range []workflows.SecretRotationInput{
		{Target: workflows.SecretTargetRedis, GracePeriod: "2s", VerifyTimeout: "30s"},
		{Target: workflows.SecretTargetPostgres, VerifyTimeout: "30s"},
		{Target: workflows.SecretTargetIngestAPIKey, GracePeriod: "2s", VerifyTimeout: "30s"},
	} {
		res, err := r.rotate(t, in)
		require.NoError(t, err, "rotation of %s: %+v", in.Target, res)
		require.True(t, res.Promoted, in.Target)
		require.True(t, res.OldRemoved, in.Target)
	}
	// And some on the new ones.
	mark := accepted.Load()
	require.Eventually(t, func() bool { return accepted.Load() >= mark+10 }, 10*time.Second, 20*time.Millisecond)
	stopLoad()
	got := <-load

	require.Empty(t, got.transport, "the ingestor answered every request")
	require.Empty(t, got.rejected, "no ingest was refused (%d batches, %d with the new key)", got.batches, got.usedNext)
	require.NotZero(t, got.usedNext, "the generator used the new key")
	require.Len(t, got.ids, got.batches*10)
	r.requireDeliveredOnce(t, got.ids)

	require.Equal(t, instancesBefore, r.instances(t), "the same services process ran throughout")

	after := r.snapshot(t)
	newRedis, newDB, newKey := after.Get(secrets.RedisPassCurrent), after.Get(secrets.DBPassCurrent), after.Get(secrets.IngestAPIKey)
	require.NotEqual(t, oldRedis, newRedis)
	require.NotEqual(t, oldDB, newDB)
	require.NotEqual(t, oldKey, newKey)
	for _, k := range []string{secrets.RedisPassNext, secrets.DBPassNext, secrets.IngestAPIKeyNext} {
		require.Empty(t, after.Get(k), "%s is cleared once the rotation is over", k)
	}

	require.Error(t, redisconn.CheckLogin(ctx, r.redisURL, false, r.cfg.RedisUsername, oldRedis), "the old Redis password was removed")
	require.NoError(t, redisconn.CheckLogin(ctx, r.redisURL, false, r.cfg.RedisUsername, newRedis))
	require.Error(t, postgres.CheckLogin(ctx, r.dbURL, dbUser, oldDB), "the old PostgreSQL password no longer works")
	require.NoError(t, postgres.CheckLogin(ctx, r.dbURL, dbUser, newDB))

	code, _, body, err := ingest(r.cfg.Ingest.Addr, oldKey, batch(-1, 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, code, "the old (dev) ingest key is refused after its grace period: %s", body)
	code, ids, body, err := ingest(r.cfg.Ingest.Addr, newKey, batch(-2, 1))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	r.requireDeliveredOnce(t, append(got.ids, ids...))
}

// TestRotationFailingAtApplyIsCompensated gives the worker a Redis admin
// client whose user may look ACL users up but not change them: the rotation
// stores NEXT, fails at the apply step, and the compensation leaves the
// secrets and the ACL user as they were; the services keep working.
func TestRotationFailingAtApplyIsCompensated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRotationEnv(t, func(t *testing.T, admin *redis.Client) redis.UniversalClient {
		// +acl|getuser lets the preflight see the user, so the refusal comes
		// at the apply step (ACL SETUSER), after NEXT was stored.
		require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "weak", "on", ">pw", "~*", "&*", "+@all", "-@admin", "-acl", "+acl|getuser").Err())
		weak := redis.NewClient(&redis.Options{Addr: admin.Options().Addr, Username: "weak", Password: "pw"})
		t.Cleanup(func() { _ = weak.Close() })
		require.Error(t, weak.Do(ctx, "ACL", "SETUSER", "nobody").Err(), "the weak user may not change ACL users")
		return weak
	})
	aclBefore := r.aclPasswords(t)
	before := r.snapshot(t)

	res, err := r.rotate(t, workflows.SecretRotationInput{Target: workflows.SecretTargetRedis, GracePeriod: "2s", VerifyTimeout: "30s"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "failed at step "+workflows.SecretStepApplyNext)
	require.Contains(t, err.Error(), "rolled back")
	var steps []string
	for _, s := range res.Steps {
		steps = append(steps, s.Step+"="+s.Status)
	}
	require.Equal(t, []string{
		workflows.SecretStepPreflight + "=ok", workflows.SecretStepStoreNext + "=ok",
		workflows.SecretStepApplyNext + "=failed", workflows.SecretStepCompensate + "=ok",
	}, steps)

	after := r.snapshot(t)
	require.Equal(t, before.Values, after.Values, "the secrets hold exactly what they held before")
	require.Equal(t, aclBefore, r.aclPasswords(t), "the ACL user's passwords are unchanged")
	require.NoError(t, redisconn.CheckLogin(ctx, r.redisURL, false, r.cfg.RedisUsername, before.Get(secrets.RedisPassCurrent)))

	// The services keep working, and a fresh connection still logs in.
	var ids []string
	for i := range 3 {
		code, got, body, err := ingest(r.cfg.Ingest.Addr, before.Get(secrets.IngestAPIKey), batch(i, 10))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, body)
		ids = append(ids, got...)
	}
	r.requireDeliveredOnce(t, ids)
}

// aclPasswords are the password hashes of the services' ACL user.
func (r *rotationEnv) aclPasswords(t *testing.T) []any {
	t.Helper()
	v, err := r.admin.Do(context.Background(), "ACL", "GETUSER", r.cfg.RedisUsername).Result()
	require.NoError(t, err)
	switch u := v.(type) {
	case map[any]any:
		return u["passwords"].([]any)
	case []any:
		for i := 0; i+1 < len(u); i += 2 {
			if u[i] == "passwords" {
				return u[i+1].([]any)
			}
		}
	}
	t.Fatalf("unexpected ACL GETUSER reply %T", v)
	return nil
}

// TestRotationOfAdminAPIKey rotates the admin API key while the API runs:
// every verification waits for the API process (it uses the key), the dev
// admin key `mutt dev` started with is refused afterwards, the new key works
// without a restart, and audit rows name it by its fingerprint, never the key.
func TestRotationOfAdminAPIKey(t *testing.T) {
	t.Parallel()
	r := newRotationEnv(t, nil)
	instances := r.instances(t)
	oldKey := r.snapshot(t).Get(secrets.WebUIAPIKey)
	require.Equal(t, app.DevAPIAdminKey, oldKey, "mutt dev's setup stored the dev admin key in the provider")
	version := "http://" + r.cfg.APIAddr + "/api/v2/version"
	code, out := apiCall(t, http.MethodGet, version, oldKey, nil)
	require.Equal(t, http.StatusOK, code, out)

	res, err := r.rotate(t, workflows.SecretRotationInput{Target: workflows.SecretTargetWebUIAPIKey, GracePeriod: "1s", VerifyTimeout: "30s"})
	require.NoError(t, err, "%+v", res)
	require.True(t, res.Promoted)
	require.True(t, res.OldRemoved)
	verified := 0
	for _, s := range res.Steps {
		switch s.Step {
		case workflows.SecretStepVerifyNext, workflows.SecretStepVerifyCurrent, workflows.SecretStepVerifyRemoved:
			require.Contains(t, s.Detail, "1 instance(s) confirmed", "%s waited for the API process", s.Step)
			verified++
		}
	}
	require.Equal(t, 3, verified)

	after := r.snapshot(t)
	newKey := after.Get(secrets.WebUIAPIKey)
	require.NotEqual(t, oldKey, newKey)
	require.Empty(t, after.Get(secrets.WebUIAPIKeyNext), "the old key is dropped after the grace period")
	code, out = apiCall(t, http.MethodGet, version, oldKey, nil)
	require.Equal(t, http.StatusUnauthorized, code, "the old admin key is refused: %v", out)
	code, out = apiCall(t, http.MethodGet, version, newKey, nil)
	require.Equal(t, http.StatusOK, code, out)

	// A change made with the new key is audited under the key's name.
	const key = "max_ingest_queue_size"
	code, out = apiCall(t, http.MethodPut, "http://"+r.cfg.APIAddr+"/api/v2/config/"+key, newKey,
		map[string]any{"value": 900000, "reason": "after the admin key rotation"})
	require.Equal(t, http.StatusOK, code, out)
	code, audit := apiCall(t, http.MethodGet, "http://"+r.cfg.APIAddr+"/api/v2/config-audit?table_name=dynamic_config&record_id="+key, newKey, nil)
	require.Equal(t, http.StatusOK, code, audit)
	changes, ok := audit["changes"].([]any)
	require.True(t, ok, audit)
	require.Len(t, changes, 1, audit)
	change := changes[0].(map[string]any)
	require.Equal(t, api.KeyName([]byte(after.Get(secrets.KeyFingerprintSecret)), newKey, true), change["changed_by"])
	require.NotContains(t, change["changed_by"], newKey)
	require.Equal(t, "after the admin key rotation", change["reason"])
	require.Equal(t, instances, r.instances(t), "the same services process ran throughout, never restarted")
}

// apiCall sends one admin API request with key and decodes the JSON answer.
func apiCall(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	req.Header.Set("X-API-KEY", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}
