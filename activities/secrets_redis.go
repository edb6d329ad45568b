package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workflows"
)

// redisSecretBackend rotates the password of the services' Redis ACL user
// (REDIS_USERNAME). An ACL user can hold several passwords: the new one is
// added next to the old (both work until the old one is removed), and the
// old one waits in REDIS_PASS_PREVIOUS between promotion and removal.
type redisSecretBackend struct{ a *secretActivities }

func (*redisSecretBackend) slot() secretSlot {
	return newSlot(secrets.RedisPassCurrent, secrets.RedisPassNext, "REDIS_PASS")
}

func (*redisSecretBackend) generate() (string, error) { return generatePassword() }

func (*redisSecretBackend) check(secrets.Snapshot) error { return nil }

func (b *redisSecretBackend) prepare(ctx context.Context, _ secrets.Snapshot) (string, error) {
	user, err := b.user()
	if err != nil {
		return "", err
	}
	err = secrets.ForEachRedisNode(ctx, b.a.d.RedisAdmin, func(ctx context.Context, n redis.UniversalClient) error {
		return n.Do(ctx, "ACL", "GETUSER", user).Err()
	})
	switch {
	case errors.Is(err, redis.Nil):
		return "", secretErr(workflows.SecretErrInvalid, "redis ACL user %q does not exist (setup creates it)", user)
	case err != nil && strings.Contains(err.Error(), "NOPERM"):
		return "", secretErr(workflows.SecretErrBackendRefused, "redis admin client may not manage ACL users: %v", err)
	case err != nil:
		return "", fmt.Errorf("redis ACL GETUSER %s: %w", user, err)
	}
	return fmt.Sprintf("redis ACL user %q exists", user), nil
}

func (b *redisSecretBackend) apply(ctx context.Context, _ secrets.Snapshot, next string) (string, error) {
	user, err := b.user()
	if err != nil {
		return "", err
	}
	if err := b.addPassword(ctx, user, next); err != nil {
		return "", err
	}
	return fmt.Sprintf("redis ACL user %q accepts the new password next to the old one", user), nil
}

func (b *redisSecretBackend) promote(values map[string]string, old string) {
	slot := b.slot()
	values[slot.next] = ""
	values[slot.previous] = old
}

func (b *redisSecretBackend) remove(ctx context.Context, s secrets.Snapshot) (string, error) {
	user, err := b.user()
	if err != nil {
		return "", err
	}
	slot := b.slot()
	if old := s.Get(slot.previous); old != "" && old != s.Get(slot.current) {
		if err := b.removePassword(ctx, user, old); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("old password removed from redis ACL user %q", user), nil
}

func (*redisSecretBackend) finish(map[string]string) {}

func (b *redisSecretBackend) restore(ctx context.Context, _ secrets.Snapshot, next string) ([]string, error) {
	user, err := b.user()
	if err != nil {
		return nil, err
	}
	if next != "" {
		if err := b.removePassword(ctx, user, next); err != nil {
			return nil, fmt.Errorf("remove the new password: %w", err)
		}
	}
	return []string{fmt.Sprintf("new password removed from redis ACL user %q", user)}, nil
}

func (b *redisSecretBackend) user() (string, error) {
	u := b.a.d.RedisUsername
	if u == "" {
		u = secretDefaultRedisUser
	}
	if u == "default" {
		return "", secretErr(workflows.SecretErrInvalid, "refusing to rotate the Redis default user: set REDIS_USERNAME to the dedicated ACL user")
	}
	if b.a.d.RedisAdmin == nil {
		return "", secretErr(workflows.SecretErrInvalid, "no Redis admin client configured on the worker")
	}
	return u, nil
}

// acl runs ACL SETUSER user <modifier>; the modifier holds a password,
// so errors are redacted. A permission refusal is SecretErrBackendRefused.
func (b *redisSecretBackend) acl(ctx context.Context, user, modifier, password string) error {
	// ACL users are per server: on a Redis Cluster every primary and
	// replica gets the change (a replica promoted later must know it too).
	err := secrets.ForEachRedisNode(ctx, b.a.d.RedisAdmin, func(ctx context.Context, n redis.UniversalClient) error {
		return n.Do(ctx, "ACL", "SETUSER", user, modifier+password).Err()
	})
	if err == nil {
		return nil
	}
	msg := redact(err.Error(), password)
	if strings.Contains(msg, "NOPERM") {
		return secretErr(workflows.SecretErrBackendRefused, "redis ACL SETUSER %s refused: %s", user, msg)
	}
	return fmt.Errorf("redis ACL SETUSER %s: %s", user, msg)
}

// save persists the ACL where Redis can (secrets.PersistRedisACL: ACL
// SAVE with an aclfile, else CONFIG REWRITE with a configuration file).
// Without either the users live in memory; the worker's RedisUserKeeper
// re-creates them with the provider's passwords after a restart.
func (b *redisSecretBackend) save(ctx context.Context) error {
	_, err := secrets.PersistRedisACL(ctx, b.a.d.RedisAdmin)
	return err
}

func (b *redisSecretBackend) addPassword(ctx context.Context, user, pw string) error {
	if err := b.acl(ctx, user, ">", pw); err != nil {
		return err
	}
	if err := b.save(ctx); err != nil {
		return err
	}
	return b.verify(ctx, user, pw, true)
}

// verify logs in as user with pw on every server (each primary and
// replica of a cluster), one fresh connection each, and checks that the
// password is accepted (accepted) or refused (!accepted) there. A node that
// cannot be reached is an error the activity's retry waits out.
func (b *redisSecretBackend) verify(ctx context.Context, user, pw string, accepted bool) error {
	err := secrets.ForEachRedisNode(ctx, b.a.d.RedisAdmin, func(ctx context.Context, n redis.UniversalClient) error {
		cl, ok := n.(*redis.Client)
		if !ok {
			return nil
		}
		err := redisconn.CheckLoginAt(ctx, cl.Options(), user, pw)
		switch {
		case accepted && err != nil:
			return fmt.Errorf("the new password of %q is not accepted: %w", user, err)
		case !accepted && err == nil:
			return fmt.Errorf("the removed password of %q is still accepted", user)
		case !accepted && !isWrongPass(err):
			return fmt.Errorf("check that the removed password of %q is refused: %w", user, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify the redis password on every node: %s", redact(err.Error(), pw))
	}
	return nil
}

// isWrongPass says whether err is Redis refusing a login (WRONGPASS).
func isWrongPass(err error) bool { return err != nil && strings.Contains(err.Error(), "WRONGPASS") }

// removePassword is idempotent: a password already gone is fine.
func (b *redisSecretBackend) removePassword(ctx context.Context, user, pw string) error {
	err := b.acl(ctx, user, "<", pw)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		err = nil
	}
	if err != nil {
		return err
	}
	if err := b.save(ctx); err != nil {
		return err
	}
	return b.verify(ctx, user, pw, false)
}
