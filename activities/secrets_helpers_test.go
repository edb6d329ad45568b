package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workflows"
)

const (
	secretTestRedisUser = "mutt"
	secretTestDBUser    = "mutt_app"
	secretOldRedisPass  = "old-redis-password"
	secretOldDBPass     = "old-db-password"
	secretOldIngestKey  = "old-ingest-key"
)

// secretBackends are a private Redis with the ACL user and a private
// PostgreSQL with the login role, both as setup creates them.
type secretBackends struct {
	redisAdmin *redis.Client
	pgAdmin    *pgxpool.Pool
}

func newSecretRedis(t *testing.T) (string, *redis.Client) {
	t.Helper()
	addr := testenv.PrivateRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", secretTestRedisUser, "on", ">"+secretOldRedisPass, "~*", "&*", "+@all", "-@admin").Err())
	return addr, admin
}

func newSecretPostgres(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	u := testenv.PrivatePostgres(t)
	pool, err := pgxpool.New(context.Background(), u)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(context.Background(), fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, secretTestDBUser, secretOldDBPass))
	require.NoError(t, err)
	return u, pool
}

// redisLogin opens a new connection as user with pw and pings.
func redisLogin(addr, user, pw string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pw, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// pgLogin opens a new connection to the superuser URL's server as user with pw.
func pgLogin(superURL, user, pw string) error {
	u, err := url.Parse(superURL)
	if err != nil {
		return err
	}
	u.User = url.UserPassword(user, pw)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func secretInitialValues() map[string]string {
	return map[string]string{
		secrets.RedisPassCurrent: secretOldRedisPass,
		secrets.DBUser:           secretTestDBUser,
		secrets.DBPassCurrent:    secretOldDBPass,
		secrets.IngestAPIKey:     secretOldIngestKey,
		secrets.MoogAPIKey:       "moog-key",
	}
}

func secretDeps(rdb redis.UniversalClient, keys keyspace.Keys, p secrets.Provider, b secretBackends) *Deps {
	d := &Deps{
		Redis: rdb, Keys: keys, Log: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(),
		Secrets: p, RedisUsername: secretTestRedisUser, DBUser: secretTestDBUser, Now: time.Now,
	}
	if b.redisAdmin != nil {
		d.RedisAdmin = b.redisAdmin
	}
	if b.pgAdmin != nil {
		d.DBAdmin = b.pgAdmin
	}
	return d
}

// secretActivityEnv is a test-suite activity environment with the secret
// activities registered as production registers them.
func secretActivityEnv(t *testing.T, d *Deps) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	require.NoError(t, registerSecrets(env, d))
	return env
}

func runSecretStep(t *testing.T, env *testsuite.TestActivityEnvironment, name string, in any) (workflows.SecretStepResult, error) {
	t.Helper()
	v, err := env.ExecuteActivity(name, in)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	var out workflows.SecretStepResult
	require.NoError(t, v.Get(&out))
	return out, nil
}

// simInstance is a live process as far as rotation is concerned: it
// advertises itself, answers each notice by opening a new connection with
// the credential the notice names (check), and acks.
type simInstance struct {
	id    string
	uses  []string
	check func(target, value string) error // nil: always ok
	mute  func() bool                      // while true: advertise but do not answer
}

func (s simInstance) start(t *testing.T, rdb redis.UniversalClient, keys keyspace.Keys, p secrets.Provider) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sub := rdb.Subscribe(ctx, keys.SecretsRotated())
	_, err := sub.Receive(ctx) // subscribed before anything is published
	require.NoError(t, err)
	advertise := func() error {
		return rdb.Set(ctx, keys.Instance(s.id), secrets.Marshal(secrets.Instance{ID: s.id, Role: "sim", Uses: s.uses}), secrets.InstanceTTL).Err()
	}
	require.NoError(t, advertise())
	t.Cleanup(func() {
		cancel()
		<-done
		_ = sub.Close()
		_ = rdb.Del(context.Background(), keys.Instance(s.id)).Err()
	})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = advertise()
			case m, ok := <-ch:
				if !ok {
					return
				}
				var n secrets.Notice
				if json.Unmarshal([]byte(m.Payload), &n) != nil || (s.mute != nil && s.mute()) {
					continue
				}
				s.answer(ctx, rdb, keys, p, n)
			}
		}
	}()
}

func (s simInstance) answer(ctx context.Context, rdb redis.UniversalClient, keys keyspace.Keys, p secrets.Provider, n secrets.Notice) {
	snap, err := p.Read(ctx)
	ack := secrets.Ack{Instance: s.id, Role: "sim", OK: true, Version: snap.Version, At: time.Now()}
	if err != nil {
		ack.OK, ack.Error = false, "read secrets: "+err.Error()
	} else if s.check != nil && containsStr(s.uses, n.Target) {
		cur, next := secretKeyPair(n.Target)
		key := cur
		if n.Expect == "next" {
			key = next
		}
		if err := s.check(n.Target, snap.Get(key)); err != nil {
			ack.OK, ack.Error = false, "new connection with "+n.Expect+" credential: "+redact(err.Error(), snap.Get(key))
		}
	}
	_ = rdb.HSet(ctx, keys.RotationAcks(n.AckKey()), s.id, secrets.Marshal(ack)).Err()
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func secretKeyPair(target string) (string, string) {
	slot, _ := slotFor(target)
	return slot.current, slot.next
}
