package activities

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

// secretHistoryFile is the recorded history workflows/secret_rotation_replay_test.go
// replays. Re-record it, after a deliberate change of the workflow, with
// MUTT_RECORD_HISTORY=1 go test ./activities -run TestSecretRotationWorkflowEndToEnd.
const secretHistoryFile = "../workflows/testdata/secret_rotation_redis_history.json"

// secretWorker starts a real worker on a test queue of the dev server with
// the workflows and the secret activities.
func secretWorker(t *testing.T, d *Deps) (client.Client, string) {
	t.Helper()
	c, tq := testenv.Temporal(t)
	w := worker.New(c, tq, worker.Options{})
	workflows.Register(w)
	require.NoError(t, registerSecrets(w, d))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c, tq
}

func secretStart(t *testing.T, c client.Client, tq string, in workflows.SecretRotationInput) client.WorkflowRun {
	t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: tq + "-" + workflows.SecretRotationWorkflowID(in.Target), TaskQueue: tq,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, "SecretRotationWorkflow", in)
	require.NoError(t, err)
	return run
}

func secretResult(t *testing.T, run client.WorkflowRun) (workflows.SecretRotationResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.SecretRotationResult
	err := run.Get(ctx, &res)
	return res, err
}

// Rotates Redis, then PostgreSQL, through the real dev server with a live
// instance that proves every stage with a new connection: the old password
// stops working, the new one works, and no secret is in the history. Runs
// against each provider (the Vault one through its HTTP API).
func TestSecretRotationWorkflowEndToEnd(t *testing.T) {
	t.Parallel()
	for _, prov := range rotationProviders() {
		t.Run(prov.name, func(t *testing.T) {
			t.Parallel()
			testSecretRotationWorkflowEndToEnd(t, prov)
		})
	}
}

func testSecretRotationWorkflowEndToEnd(t *testing.T, prov rotationProvider) {
	rdb, keys := testenv.Redis(t)
	addr, admin := newSecretRedis(t)
	pgURL, pg := newSecretPostgres(t)
	p := prov.new(t, secretInitialValues())
	d := secretDeps(rdb, keys, p, secretBackends{redisAdmin: admin, pgAdmin: pg})
	c, tq := secretWorker(t, d)
	simInstance{id: "alerter-1", uses: []string{secrets.TargetRedis, secrets.TargetPostgres}, check: func(target, value string) error {
		if value == "" {
			return errors.New("no value to try")
		}
		if target == secrets.TargetRedis {
			return redisLogin(addr, secretTestRedisUser, value)
		}
		return pgLogin(pgURL, secretTestDBUser, value)
	}}.start(t, rdb, keys, p)

	// Redis.
	run := secretStart(t, c, tq, workflows.SecretRotationInput{Target: secrets.TargetRedis, GracePeriod: "1s", VerifyTimeout: "30s"})
	res, err := secretResult(t, run)
	require.NoError(t, err)
	require.True(t, res.Promoted)
	require.True(t, res.OldRemoved)
	require.Equal(t, run.GetRunID(), res.RotationID)
	snap := secretRead(t, p)
	newRedis := snap.Get(secrets.RedisPassCurrent)
	require.NotEmpty(t, newRedis)
	require.NotEqual(t, secretOldRedisPass, newRedis)
	require.Equal(t, fingerprint(newRedis), res.Fingerprint)
	require.NoError(t, redisLogin(addr, secretTestRedisUser, newRedis))
	require.Error(t, redisLogin(addr, secretTestRedisUser, secretOldRedisPass))
	require.Empty(t, snap.Get(secrets.RedisPassNext))
	acks, err := rdb.HGetAll(context.Background(), keys.RotationAcks(res.RotationID+":next_stored")).Result()
	require.NoError(t, err)
	require.Contains(t, acks, "alerter-1")

	h := testenv.WorkflowHistory(t, c, run)
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	require.NotContains(t, string(raw), newRedis, "the history must never hold a secret")
	require.NotContains(t, string(raw), secretOldRedisPass)
	replayHistory(t, h)
	// One recorded history only: the memory run's (the workflow's history
	// does not depend on the provider, and two writers would race).
	if os.Getenv("MUTT_RECORD_HISTORY") != "" && prov.name == "memory" {
		recordHistory(t, h, secretHistoryFile)
	}

	// PostgreSQL.
	run = secretStart(t, c, tq, workflows.SecretRotationInput{Target: secrets.TargetPostgres, VerifyTimeout: "30s"})
	res, err = secretResult(t, run)
	require.NoError(t, err)
	require.True(t, res.OldRemoved)
	snap = secretRead(t, p)
	newDB := snap.Get(secrets.DBPassCurrent)
	require.NotEmpty(t, newDB)
	require.NotEqual(t, secretOldDBPass, newDB)
	require.Empty(t, snap.Get(secrets.DBPassNext))
	require.Equal(t, newRedis, snap.Get(secrets.RedisPassCurrent), "rotating postgres must leave redis alone")
	require.NoError(t, pgLogin(pgURL, secretTestDBUser, newDB))
	require.Error(t, pgLogin(pgURL, secretTestDBUser, secretOldDBPass))
	raw, err = temporalproto.CustomJSONMarshalOptions{}.Marshal(testenv.WorkflowHistory(t, c, run))
	require.NoError(t, err)
	require.NotContains(t, string(raw), newDB)

	reg, ok := d.Registerer.(*prometheus.Registry)
	require.True(t, ok)
	for _, target := range []string{secrets.TargetRedis, secrets.TargetPostgres} {
		require.Equal(t, 1.0, testenv.Metric(t, reg, "mutt_secret_rotations_total", map[string]string{"target": target, "outcome": "success"}))
		require.Greater(t, testenv.Metric(t, reg, "mutt_secret_rotation_last_success_timestamp_seconds", map[string]string{"target": target}), 0.0)
	}
}

// ACL SETUSER refused (the admin client lacks ACL rights): the workflow fails
// at apply_next, rolled back, and the provider and Redis are as before. Runs
// against each provider.
func TestSecretRotationFailedApplyLeavesEverythingAsBefore(t *testing.T) {
	t.Parallel()
	for _, prov := range rotationProviders() {
		t.Run(prov.name, func(t *testing.T) {
			t.Parallel()
			testSecretRotationFailedApply(t, prov)
		})
	}
}

func testSecretRotationFailedApply(t *testing.T, prov rotationProvider) {
	rdb, keys := testenv.Redis(t)
	addr, admin := newSecretRedis(t)
	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", "weak", "on", ">weak", "~*", "+@all", "-acl|setuser").Err())
	weak := redis.NewClient(&redis.Options{Addr: addr, Username: "weak", Password: "weak"})
	t.Cleanup(func() { _ = weak.Close() })
	p := prov.new(t, secretInitialValues())
	d := secretDeps(rdb, keys, p, secretBackends{redisAdmin: weak})
	c, tq := secretWorker(t, d)
	before, err := admin.Do(context.Background(), "ACL", "GETUSER", secretTestRedisUser).Result()
	require.NoError(t, err)
	stored := secretRead(t, p)
	require.Equal(t, secretInitialValues(), stored.Values)

	_, err = secretResult(t, secretStart(t, c, tq, workflows.SecretRotationInput{Target: secrets.TargetRedis}))
	require.Error(t, err)
	require.ErrorContains(t, err, "rotation of redis failed at step apply_next")
	require.ErrorContains(t, err, "NOPERM")
	require.ErrorContains(t, err, "rolled back")
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	var res workflows.SecretRotationResult
	require.NoError(t, app.Details(&res))
	require.True(t, res.Compensated)

	// The same values, NEXT and the rotation marker gone. The version is not
	// the one before: compensation writes the old values back as a new
	// version (KV v2 keeps history; it never deletes the version StoreNext
	// wrote), so it is exactly two ahead: StoreNext, then Compensate.
	after := secretRead(t, p)
	require.Equal(t, secretInitialValues(), after.Values)
	require.Empty(t, after.Get(secrets.RedisPassNext))
	require.Equal(t, stored.Version+2, after.Version)
	acl, err := admin.Do(context.Background(), "ACL", "GETUSER", secretTestRedisUser).Result()
	require.NoError(t, err)
	require.Equal(t, before, acl)
	require.NoError(t, redisLogin(addr, secretTestRedisUser, secretOldRedisPass))
	reg, ok := d.Registerer.(*prometheus.Registry)
	require.True(t, ok)
	require.Equal(t, 1.0, testenv.Metric(t, reg, "mutt_secret_rotations_total", map[string]string{"target": "redis", "outcome": "compensated"}))
}

// The workflow id per target: a second start while a rotation runs is
// refused (or, without WorkflowExecutionErrorWhenAlreadyStarted, answered
// with the running one), so two rotations of a target never overlap.
func TestSecretRotationSecondStartIsRefused(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	c, tq := secretWorker(t, secretDeps(rdb, keys, p, secretBackends{}))
	var mute atomic.Bool
	mute.Store(true)
	simInstance{id: "ingestor-1", uses: []string{secrets.TargetIngestAPIKey}, mute: mute.Load}.start(t, rdb, keys, p)

	in := workflows.SecretRotationInput{Target: secrets.TargetIngestAPIKey, GracePeriod: "1s", VerifyTimeout: "1m"}
	first := secretStart(t, c, tq, in)
	// The first run waits for the muted instance with NEXT stored.
	require.Eventually(t, func() bool { return p.get(secrets.IngestAPIKeyNext) != "" }, 30*time.Second, 50*time.Millisecond)

	opts := client.StartWorkflowOptions{ID: first.GetID(), TaskQueue: tq, WorkflowExecutionErrorWhenAlreadyStarted: true}
	_, err := c.ExecuteWorkflow(context.Background(), opts, "SecretRotationWorkflow", in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, err, &started)
	opts.WorkflowExecutionErrorWhenAlreadyStarted = false
	same, err := c.ExecuteWorkflow(context.Background(), opts, "SecretRotationWorkflow", in)
	require.NoError(t, err)
	require.Equal(t, first.GetRunID(), same.GetRunID())

	mute.Store(false) // the notice is re-sent; the instance now answers
	res, err := secretResult(t, first)
	require.NoError(t, err)
	require.True(t, res.OldRemoved)
	require.NotEqual(t, secretOldIngestKey, p.get(secrets.IngestAPIKey))
	require.Empty(t, p.get(secrets.IngestAPIKeyNext))
}
