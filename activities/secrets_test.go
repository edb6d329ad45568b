package activities

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

func requireErrType(t *testing.T, err error, typ string) {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "not an application error: %v", err)
	require.Equal(t, typ, app.Type(), app.Error())
}

// Every step of a Redis rotation run twice does what it does once; the old
// password works until RemoveOld, the new one from ApplyNext on.
func TestSecretRedisStepsAreIdempotent(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	addr, admin := newSecretRedis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{redisAdmin: admin}))
	in := workflows.SecretStepInput{Target: secrets.TargetRedis, RotationID: "rot-1"}

	_, err := runSecretStep(t, env, workflows.ActivitySecretPreflight, in)
	require.NoError(t, err)
	first, err := runSecretStep(t, env, workflows.ActivitySecretStoreNext, in)
	require.NoError(t, err)
	require.False(t, first.AlreadyDone)
	next := p.get(secrets.RedisPassNext)
	require.NotEmpty(t, next)
	require.Equal(t, fingerprint(next), first.Fingerprint)
	again, err := runSecretStep(t, env, workflows.ActivitySecretStoreNext, in)
	require.NoError(t, err)
	require.True(t, again.AlreadyDone)
	require.Equal(t, next, p.get(secrets.RedisPassNext), "a re-run must not generate another value")

	for range 2 {
		_, err = runSecretStep(t, env, workflows.ActivitySecretApplyNext, in)
		require.NoError(t, err)
	}
	require.NoError(t, redisLogin(addr, secretTestRedisUser, secretOldRedisPass))
	require.NoError(t, redisLogin(addr, secretTestRedisUser, next))

	for i := range 2 {
		r, err := runSecretStep(t, env, workflows.ActivitySecretPromote, in)
		require.NoError(t, err)
		require.Equal(t, i == 1, r.AlreadyDone)
	}
	require.Equal(t, next, p.get(secrets.RedisPassCurrent))
	require.Empty(t, p.get(secrets.RedisPassNext))
	require.Equal(t, secretOldRedisPass, p.get("REDIS_PASS_PREVIOUS"))

	// Compensation refuses after promotion.
	_, err = runSecretStep(t, env, workflows.ActivitySecretCompensate, workflows.SecretStepInput{Target: secrets.TargetRedis, RotationID: "rot-1", UndoBackend: true})
	requireErrType(t, err, workflows.SecretErrConflict)

	for i := range 2 {
		r, err := runSecretStep(t, env, workflows.ActivitySecretRemoveOld, in)
		require.NoError(t, err)
		require.Equal(t, i == 1, r.AlreadyDone)
	}
	require.Error(t, redisLogin(addr, secretTestRedisUser, secretOldRedisPass))
	require.NoError(t, redisLogin(addr, secretTestRedisUser, next))
	snap := p.snapshot()
	for _, k := range []string{"REDIS_PASS_PREVIOUS", "REDIS_PASS_ROTATION_ID", "REDIS_PASS_ROTATION_STAGE", secrets.RedisPassNext} {
		require.NotContains(t, snap, k)
	}
}

// A PostgreSQL rotation: ApplyNext switches the role's only password, a
// compensation puts CURRENT back; both twice.
func TestSecretPostgresApplyAndCompensateAreIdempotent(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	pgURL, pg := newSecretPostgres(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{pgAdmin: pg}))
	in := workflows.SecretStepInput{Target: secrets.TargetPostgres, RotationID: "rot-pg"}

	_, err := runSecretStep(t, env, workflows.ActivitySecretPreflight, in)
	require.NoError(t, err)
	_, err = runSecretStep(t, env, workflows.ActivitySecretStoreNext, in)
	require.NoError(t, err)
	next := p.get(secrets.DBPassNext)
	for range 2 {
		_, err = runSecretStep(t, env, workflows.ActivitySecretApplyNext, in)
		require.NoError(t, err)
	}
	require.NoError(t, pgLogin(pgURL, secretTestDBUser, next))
	require.Error(t, pgLogin(pgURL, secretTestDBUser, secretOldDBPass))

	undo := in
	undo.UndoBackend = true
	for i := range 2 {
		r, err := runSecretStep(t, env, workflows.ActivitySecretCompensate, undo)
		require.NoError(t, err)
		require.Equal(t, i == 1, r.AlreadyDone)
	}
	require.NoError(t, pgLogin(pgURL, secretTestDBUser, secretOldDBPass))
	require.Error(t, pgLogin(pgURL, secretTestDBUser, next))
	require.Equal(t, secretInitialValues(), p.snapshot())
}

func TestSecretPreflightRefusesPrivilegedUsers(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	_, admin := newSecretRedis(t)
	_, pg := newSecretPostgres(t)
	vals := secretInitialValues()
	vals[secrets.DBUser] = "postgres"
	p := newMemProvider(vals)
	d := secretDeps(rdb, keys, p, secretBackends{redisAdmin: admin, pgAdmin: pg})
	d.RedisUsername = "default"
	env := secretActivityEnv(t, d)
	_, err := runSecretStep(t, env, workflows.ActivitySecretPreflight, workflows.SecretStepInput{Target: secrets.TargetRedis, RotationID: "r"})
	requireErrType(t, err, workflows.SecretErrInvalid)
	require.ErrorContains(t, err, "default user")
	_, err = runSecretStep(t, env, workflows.ActivitySecretPreflight, workflows.SecretStepInput{Target: secrets.TargetPostgres, RotationID: "r"})
	requireErrType(t, err, workflows.SecretErrInvalid)
	require.ErrorContains(t, err, "superuser")

	d2 := secretDeps(rdb, keys, newMemProvider(secretInitialValues()), secretBackends{redisAdmin: admin, pgAdmin: pg})
	d2.RedisUsername = "nobody"
	env2 := secretActivityEnv(t, d2)
	_, err = runSecretStep(t, env2, workflows.ActivitySecretPreflight, workflows.SecretStepInput{Target: secrets.TargetRedis, RotationID: "r"})
	requireErrType(t, err, workflows.SecretErrInvalid)
	require.ErrorContains(t, err, "does not exist")
}

// A second rotation of the same target finds the first one's marker; an
// unmarked NEXT is not overwritten either; CAS conflicts are read again.
func TestSecretStoreNextConflictsAndCAS(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	p.conflicts = 2
	_, err := runSecretStep(t, env, workflows.ActivitySecretStoreNext, workflows.SecretStepInput{Target: secrets.TargetIngestAPIKey, RotationID: "a"})
	require.NoError(t, err)
	require.Len(t, p.get(secrets.IngestAPIKeyNext), 64)

	_, err = runSecretStep(t, env, workflows.ActivitySecretStoreNext, workflows.SecretStepInput{Target: secrets.TargetIngestAPIKey, RotationID: "b"})
	requireErrType(t, err, workflows.SecretErrConflict)
	require.ErrorContains(t, err, "rotation a of ingest_api_key is in flight")
	_, err = runSecretStep(t, env, workflows.ActivitySecretPreflight, workflows.SecretStepInput{Target: secrets.TargetIngestAPIKey, RotationID: "b"})
	requireErrType(t, err, workflows.SecretErrConflict)

	vals := secretInitialValues()
	vals[secrets.WebUIAPIKeyNext] = "hand-made"
	p2 := newMemProvider(vals)
	env2 := secretActivityEnv(t, secretDeps(rdb, keys, p2, secretBackends{}))
	_, err = runSecretStep(t, env2, workflows.ActivitySecretStoreNext, workflows.SecretStepInput{Target: secrets.TargetWebUIAPIKey, RotationID: "c"})
	requireErrType(t, err, workflows.SecretErrConflict)
	require.Equal(t, "hand-made", p2.get(secrets.WebUIAPIKeyNext))
}

// API keys: after promotion the old key is NEXT (still accepted) until RemoveOld.
func TestSecretAPIKeyKeepsOldKeyUntilRemoved(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	in := workflows.SecretStepInput{Target: secrets.TargetIngestAPIKey, RotationID: "k"}
	for _, step := range []string{workflows.ActivitySecretStoreNext, workflows.ActivitySecretApplyNext} {
		_, err := runSecretStep(t, env, step, in)
		require.NoError(t, err)
	}
	next := p.get(secrets.IngestAPIKeyNext)
	_, err := runSecretStep(t, env, workflows.ActivitySecretPromote, in)
	require.NoError(t, err)
	require.Equal(t, next, p.get(secrets.IngestAPIKey))
	require.Equal(t, secretOldIngestKey, p.get(secrets.IngestAPIKeyNext))
	_, err = runSecretStep(t, env, workflows.ActivitySecretRemoveOld, in)
	require.NoError(t, err)
	require.Equal(t, next, p.get(secrets.IngestAPIKey))
	require.Empty(t, p.get(secrets.IngestAPIKeyNext))
}

// A Redis admin without ACL rights: the refusal is final, names no password,
// and the compensation (told the backend was not touched) restores the provider.
func TestSecretApplyRefusedIsRedacted(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	addr, admin := newSecretRedis(t)
	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", "weak", "on", ">weak", "~*", "+@all", "-@admin").Err())
	weak := redis.NewClient(&redis.Options{Addr: addr, Username: "weak", Password: "weak"})
	t.Cleanup(func() { _ = weak.Close() })
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{redisAdmin: weak}))
	in := workflows.SecretStepInput{Target: secrets.TargetRedis, RotationID: "w"}
	_, err := runSecretStep(t, env, workflows.ActivitySecretStoreNext, in)
	require.NoError(t, err)
	next := p.get(secrets.RedisPassNext)
	_, err = runSecretStep(t, env, workflows.ActivitySecretApplyNext, in)
	requireErrType(t, err, workflows.SecretErrBackendRefused)
	require.NotContains(t, err.Error(), next)
	require.Error(t, redisLogin(addr, secretTestRedisUser, next))

	_, err = runSecretStep(t, env, workflows.ActivitySecretCompensate, in)
	require.NoError(t, err)
	require.Equal(t, secretInitialValues(), p.snapshot())

	// Redis echoes the modifier in its errors; redact removes it.
	require.Equal(t, "ERR modifier '<[redacted]'", redact("ERR modifier '<"+next+"'", next))
}

func TestSecretNotifyVerify(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	verify := func(rot string) workflows.SecretVerifyInput {
		return workflows.SecretVerifyInput{Target: secrets.TargetRedis, RotationID: rot, Stage: "next_stored", Expect: "next", Timeout: 30 * time.Second}
	}

	// No instance uses the target: passes with a note.
	simInstance{id: "web-1", uses: []string{secrets.TargetWebUIAPIKey}, mute: func() bool { return true }}.start(t, rdb, keys, p)
	r, err := runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, verify("none"))
	require.NoError(t, err)
	require.Contains(t, r.Detail, "no live instance uses redis")

	// Two instances ack ok.
	simInstance{id: "alerter-1", uses: []string{secrets.TargetRedis, secrets.TargetPostgres}}.start(t, rdb, keys, p)
	simInstance{id: "ingestor-1", uses: []string{secrets.TargetRedis}}.start(t, rdb, keys, p)
	r, err = runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, verify("ok"))
	require.NoError(t, err)
	require.Equal(t, []string{"alerter-1", "ingestor-1"}, r.Instances)
	// Run again: idempotent.
	r, err = runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, verify("ok"))
	require.NoError(t, err)
	require.Len(t, r.Instances, 2)
}

func TestSecretNotifyVerifyRefusalAndTimeout(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	simInstance{id: "bad-1", uses: []string{secrets.TargetRedis}, check: func(string, string) error {
		return errors.New("WRONGPASS invalid username-password pair")
	}}.start(t, rdb, keys, p)
	_, err := runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, workflows.SecretVerifyInput{
		Target: secrets.TargetRedis, RotationID: "bad", Stage: "next_stored", Expect: "next", Timeout: 30 * time.Second,
	})
	requireErrType(t, err, workflows.SecretErrVerify)
	require.ErrorContains(t, err, "bad-1: new connection with next credential: WRONGPASS")
}

// A retried verification resumes the deadline from its heartbeat: a worker
// crash does not stretch the wait before promotion.
func TestSecretNotifyVerifyResumesDeadlineFromHeartbeat(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	p := newMemProvider(secretInitialValues())
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	simInstance{id: "silent-1", uses: []string{secrets.TargetPostgres}, mute: func() bool { return true }}.start(t, rdb, keys, p)
	env.SetHeartbeatDetails(secretVerifyProgress{Deadline: time.Now().Add(-time.Second), Pending: 1})
	_, err := runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, workflows.SecretVerifyInput{
		Target: secrets.TargetPostgres, RotationID: "slow", Stage: "next_stored", Expect: "next", Timeout: time.Hour,
	})
	requireErrType(t, err, workflows.SecretErrVerify)
	require.ErrorContains(t, err, "did not confirm")
	require.ErrorContains(t, err, "silent-1")
}

// The workflows package repeats the target names (it must not import
// internal/secrets); they must not drift.
func TestSecretTargetsMatchWorkflows(t *testing.T) {
	t.Parallel()
	require.Equal(t, secrets.Targets(), []string{workflows.SecretTargetRedis, workflows.SecretTargetPostgres,
		workflows.SecretTargetIngestAPIKey, workflows.SecretTargetWebUIAPIKey})
}

// A provider WEBUI_API_KEY may list several admin keys; a rotation replaces
// one value with one new key, so it would silently revoke the others. It is
// refused, before anything changes, with what to do instead.
func TestSecretMultiKeyAdminValueIsNotRotated(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	vals := secretInitialValues()
	vals[secrets.WebUIAPIKey] = "ops-team-key, ci-key"
	p := newMemProvider(vals)
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	in := workflows.SecretStepInput{Target: secrets.TargetWebUIAPIKey, RotationID: "multi"}
	for _, step := range []string{workflows.ActivitySecretPreflight, workflows.ActivitySecretStoreNext} {
		_, err := runSecretStep(t, env, step, in)
		requireErrType(t, err, workflows.SecretErrInvalid)
		require.ErrorContains(t, err, "WEBUI_API_KEY holds 2 keys")
		require.NotContains(t, err.Error(), "ops-team-key")
	}
	require.Equal(t, vals, p.snapshot(), "nothing was changed")

	// One key: rotated as usual.
	vals[secrets.WebUIAPIKey] = "ops-team-key"
	p = newMemProvider(vals)
	env = secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	for _, step := range []string{workflows.ActivitySecretPreflight, workflows.ActivitySecretStoreNext} {
		_, err := runSecretStep(t, env, step, in)
		require.NoError(t, err)
	}
	require.Len(t, p.get(secrets.WebUIAPIKeyNext), 64)
}

// The notice names the value to prove by its fingerprint (never the value):
// NEXT before promotion, CURRENT after.
func TestSecretNoticeCarriesTheFingerprint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	vals := secretInitialValues()
	vals[secrets.IngestAPIKeyNext] = "the-next-key"
	p := newMemProvider(vals)
	env := secretActivityEnv(t, secretDeps(rdb, keys, p, secretBackends{}))
	sub := rdb.Subscribe(ctx, keys.SecretsRotated())
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(ctx)
	require.NoError(t, err)
	for expect, value := range map[string]string{"next": "the-next-key", "current": secretOldIngestKey} {
		_, err := runSecretStep(t, env, workflows.ActivitySecretNotifyVerify, workflows.SecretVerifyInput{
			Target: secrets.TargetIngestAPIKey, RotationID: "fp-" + expect, Stage: "s", Expect: expect, Timeout: time.Second})
		require.NoError(t, err) // no live instance
		m, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		var n secrets.Notice
		require.NoError(t, json.Unmarshal([]byte(m.Payload), &n))
		require.Equal(t, secrets.Fingerprint(value), n.Fingerprint, expect)
		require.NotContains(t, m.Payload, value)
	}
}
