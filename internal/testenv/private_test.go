package testenv_test

import (
	"context"
	"github.com/jackc/pgx/v5"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/stretchr/testify/require"
	"testing"
)

// TestPrivateServers checks the private servers really demand passwords.
func TestPrivateServers(t *testing.T) {
	u := testenv.PrivatePostgres(t)
	_, err := pgx.Connect(context.Background(), u[:len("postgres://postgres:")]+"wrong"+u[len("postgres://postgres:admin"):])
	require.Error(t, err)
	_ = testenv.PrivateRedis(t)
}
