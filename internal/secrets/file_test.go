package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFileProviderCAS(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	log, lb := newProvLog(t)
	path := filepath.Join(t.TempDir(), "sub", "secrets.json")
	p := NewFile(path, log)
	require.Equal(t, "file", p.Name())
	require.Equal(t, 1, lb.count("secrets come from the file "+path+": development only, use Vault in production (MUTT_SECRETS_PROVIDER=vault)"))
	require.Contains(t, lb.String(), `"level":"WARN"`)

	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, s.Version)
	require.Empty(t, s.Values)

	v1 := provTestValues()
	ver, err := p.Write(ctx, v1, 0)
	require.NoError(t, err)
	require.Equal(t, 1, ver)
	_, err = p.Write(ctx, v1, 0)
	require.ErrorIs(t, err, ErrCASMismatch)

	v2 := provTestValues()
	ver, err = p.Write(ctx, v2, 1)
	require.NoError(t, err)
	require.Equal(t, 2, ver)
	_, err = p.Write(ctx, v1, 1)
	require.ErrorIs(t, err, ErrCASMismatch)

	s, err = p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, Snapshot{Values: v2, Version: 2}, s)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// The documented format, so an operator can read or seed it by hand.
	var doc struct {
		Version int               `json:"version"`
		Values  map[string]string `json:"values"`
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, 2, doc.Version)
	require.Equal(t, v2, doc.Values)

	// No temp files left behind.
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), e.Name())
	}
	requireNoSecretsLogged(t, lb, append(provValuesOf(v1), provValuesOf(v2)...)...)
}

// Two writers (separate providers, as two processes would be) race on every
// version: exactly one wins each, and no write is lost or duplicated.
func TestFileProviderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "secrets.json")
	const versions = 60
	var (
		mu   sync.Mutex
		wins = map[int][]string{} // version → writers that got it
		wg   sync.WaitGroup
	)
	for _, w := range []string{"a", "b"} {
		p := NewFile(path, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s, err := p.Read(ctx)
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if s.Version >= versions {
					return
				}
				ver, err := p.Write(ctx, map[string]string{"WRITER": w, "SEQ": fmt.Sprint(s.Version + 1)}, s.Version)
				if err != nil {
					if !errors.Is(err, ErrCASMismatch) {
						t.Errorf("write: %v", err)
						return
					}
					continue
				}
				mu.Lock()
				wins[ver] = append(wins[ver], w)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, wins, versions)
	for v := 1; v <= versions; v++ {
		require.Len(t, wins[v], 1, "version %d", v)
	}
	s, err := NewFile(path, nil).Read(ctx)
	require.NoError(t, err)
	require.Equal(t, versions, s.Version)
	require.Equal(t, fmt.Sprint(versions), s.Values["SEQ"])
	require.Equal(t, wins[versions][0], s.Values["WRITER"])
}

func TestSeedFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), ".mutt", "secrets.json")
	first := provTestValues()
	require.NoError(t, SeedFile(path, first))
	s, err := NewFile(path, nil).Read(ctx)
	require.NoError(t, err)
	require.Equal(t, Snapshot{Values: first, Version: 1}, s)

	// A second start keeps what is there (possibly rotated since).
	require.NoError(t, SeedFile(path, provTestValues()))
	s, err = NewFile(path, nil).Read(ctx)
	require.NoError(t, err)
	require.Equal(t, Snapshot{Values: first, Version: 1}, s)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestFileProviderBadFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()

	corrupt := filepath.Join(dir, "corrupt.json")
	require.NoError(t, os.WriteFile(corrupt, []byte(`{"version":1,"values":{"REDIS_PASS_CURRENT":"hunter2-secret"`), 0o600))
	_, err := NewFile(corrupt, nil).Read(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), corrupt)
	require.NotContains(t, err.Error(), "hunter2-secret")

	notString := filepath.Join(dir, "number.json")
	require.NoError(t, os.WriteFile(notString, []byte(`{"version":1,"values":{"DB_PASS_CURRENT":987654321}}`), 0o600))
	_, err = NewFile(notString, nil).Read(ctx)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "987654321")

	open := filepath.Join(dir, "open.json")
	require.NoError(t, os.WriteFile(open, []byte(`{"version":3,"values":{"A":"b"}}`), 0o644))
	require.NoError(t, os.Chmod(open, 0o644))
	log, lb := newProvLog(t)
	p := NewFile(open, log)
	s, err := p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, s.Version)
	_, err = p.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, lb.count("secrets file is readable by other users; chmod 600 it"), "warned once")
	// A write replaces it with a 0600 file.
	_, err = p.Write(ctx, map[string]string{"A": "c"}, 3)
	require.NoError(t, err)
	fi, err := os.Stat(open)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestFileProviderCancelledWhileLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.json")
	p := NewFile(path, nil)
	held := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = withFileLock(t.Context(), path, func() error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.Write(ctx, map[string]string{"A": "b"}, 0)
	close(release)
	require.ErrorIs(t, err, context.Canceled)
}

// FuzzReadFileDoc: whatever is in the file, reading it never panics, and what
// it accepts is usable (values present, version not negative).
func FuzzReadFileDoc(f *testing.F) {
	f.Add([]byte(`{"version":1,"values":{"A":"b"}}`))
	f.Add([]byte(`{"version":-1}`))
	f.Add([]byte(`{"values":{"A":1}}`))
	f.Add([]byte(`not json`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.json")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		doc, err := readFileDoc(path)
		if err == nil {
			require.NotNil(t, doc.Values)
			require.GreaterOrEqual(t, doc.Version, 0)
		}
	})
}
