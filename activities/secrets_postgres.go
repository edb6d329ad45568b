package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workflows"
)

// postgresSecretBackend rotates the password of the services' login role
// (DB_USER). A role has one password: from apply on, new connections with
// CURRENT fail and the connectors fall back to NEXT; there is no old
// password left to remove, and undoing apply sets CURRENT again.
type postgresSecretBackend struct{ a *secretActivities }

func (*postgresSecretBackend) slot() secretSlot {
	return newSlot(secrets.DBPassCurrent, secrets.DBPassNext, "DB_PASS")
}

func (*postgresSecretBackend) generate() (string, error) { return generatePassword() }

func (*postgresSecretBackend) check(secrets.Snapshot) error { return nil }

func (b *postgresSecretBackend) prepare(ctx context.Context, s secrets.Snapshot) (string, error) {
	user, err := b.user(s)
	if err != nil {
		return "", err
	}
	var super, login bool
	err = b.a.d.DBAdmin.QueryRow(ctx, `SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1`, user).Scan(&super, &login)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", secretErr(workflows.SecretErrInvalid, "postgres role %q does not exist (setup creates it)", user)
	case err != nil:
		return "", fmt.Errorf("look up postgres role %s: %w", user, err)
	case super:
		return "", secretErr(workflows.SecretErrInvalid, "refusing to rotate superuser %q: set DB_USER to the dedicated login role", user)
	case !login:
		return "", secretErr(workflows.SecretErrInvalid, "postgres role %q cannot log in", user)
	}
	return fmt.Sprintf("postgres login role %q exists", user), nil
}

func (b *postgresSecretBackend) apply(ctx context.Context, s secrets.Snapshot, next string) (string, error) {
	user, err := b.user(s)
	if err != nil {
		return "", err
	}
	if err := b.setPassword(ctx, user, next); err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres role %q has the new password", user), nil
}

// promote clears NEXT: the old password is already gone.
func (b *postgresSecretBackend) promote(values map[string]string, _ string) {
	values[b.slot().next] = ""
}

func (*postgresSecretBackend) remove(context.Context, secrets.Snapshot) (string, error) {
	return "postgres: the role has one password; nothing to remove", nil
}

func (*postgresSecretBackend) finish(map[string]string) {}

func (b *postgresSecretBackend) restore(ctx context.Context, s secrets.Snapshot, _ string) ([]string, error) {
	user, err := b.user(s)
	if err != nil {
		return nil, err
	}
	cur := s.Get(b.slot().current)
	if cur == "" {
		return []string{"no CURRENT password to restore on postgres"}, nil
	}
	if err := b.setPassword(ctx, user, cur); err != nil {
		return nil, fmt.Errorf("restore the CURRENT password: %w", err)
	}
	return []string{fmt.Sprintf("postgres role %q has the CURRENT password again", user)}, nil
}

// user is the rotated role: the provider's DB_USER, else the worker's.
func (b *postgresSecretBackend) user(s secrets.Snapshot) (string, error) {
	u := s.Get(secrets.DBUser)
	if u == "" {
		u = b.a.d.DBUser
	}
	if u == "" {
		u = secretDefaultDBUser
	}
	if b.a.d.DBAdmin == nil {
		return "", secretErr(workflows.SecretErrInvalid, "no PostgreSQL admin pool configured on the worker")
	}
	return u, nil
}

// setPassword sets the role's password with secrets.SetPostgresPassword,
// which sends a SCRAM verifier computed here, never the plaintext (so it
// cannot reach the server's logs), and quotes the role as an identifier.
func (b *postgresSecretBackend) setPassword(ctx context.Context, user, pw string) error {
	if err := secrets.SetPostgresPassword(ctx, b.a.d.DBAdmin, user, pw); err != nil {
		msg := redact(err.Error(), pw)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			return secretErr(workflows.SecretErrBackendRefused, "postgres ALTER ROLE %s refused: %s", user, msg)
		}
		return fmt.Errorf("postgres ALTER ROLE %s: %s", user, msg)
	}
	return nil
}
