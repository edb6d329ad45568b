package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

func TestDevStateFile(t *testing.T) {
	t.Parallel()
	require.Equal(t, filepath.Join(".mutt", "dev-state.json"), DevStateFile(config.DefaultRedisPrefix, "./.mutt/dev.log"))
	require.Equal(t, filepath.Join("/x", "dev-state-test_a1.json"), DevStateFile("test:a1:", "/x/dev.log"))
}

func TestDevStateRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "dev-state.json")
	_, err := ReadDevState(path)
	require.ErrorIs(t, err, os.ErrNotExist, "no file: no mutt dev running here")

	cfg := Config{APIAddr: ":8090", APIAdminKeys: []string{"admin-key"}, APIReadOnlyKeys: []string{"ro-key", "ro2"}}
	cfg.Ingest.Addr = "127.0.0.1:8080"
	cfg.Ingest.APIKeys = []string{"ingest-key"}
	cfg.DatabaseURL = "postgres://u:secret@127.0.0.1:5432/mutt"
	s := NewDevState(cfg, nil, "http://127.0.0.1:8233", "http://127.0.0.1:9090")
	require.Equal(t, DevStateKeys{Ingest: "ingest-key", Admin: "admin-key", ReadOnly: "ro-key"}, s.Keys)
	require.Equal(t, "http://127.0.0.1:8090/ui/", s.URLs.WebUI)
	require.NotContains(t, s.Database, "secret")

	require.NoError(t, WriteDevState(path, s))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "it holds API keys")
	got, err := ReadDevState(path)
	require.NoError(t, err)
	require.Equal(t, s.Keys, got.Keys)
	require.Equal(t, s.URLs, got.URLs)
	require.True(t, s.StartedAt.Equal(got.StartedAt))

	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
	_, err = ReadDevState(path)
	require.ErrorContains(t, err, path)
}
