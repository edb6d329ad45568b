package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// fileDoc is the file's format: {"version":N,"values":{...}}.
type fileDoc struct {
	Version int               `json:"version"`
	Values  map[string]string `json:"values"`
}

// FileProvider keeps the secrets in a JSON file (mode 0600) for development
// and `mutt dev`. Writes are check-and-set on the version, serialised across
// processes by an flock on "<file>.lock", and replace the file atomically
// (temp file + rename), so readers never see half a file and need no lock.
type FileProvider struct {
	path       string
	log        *slog.Logger
	warnedMode atomic.Bool
}

var _ Provider = (*FileProvider)(nil)

// NewFile uses the file at path (created by the first Write or SeedFile). It
// warns once, loudly, that this is not for production.
func NewFile(path string, log *slog.Logger) *FileProvider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &FileProvider{path: path, log: log.With("component", "secrets", "provider", "file", "file", path)}
	p.log.Warn("secrets come from the file " + path + ": development only, use Vault in production (MUTT_SECRETS_PROVIDER=vault)")
	return p
}

// Name implements Provider.
func (p *FileProvider) Name() string { return "file" }

// Path is the secrets file.
func (p *FileProvider) Path() string { return p.path }

// Run has nothing to keep alive; it returns when ctx ends, so callers can run
// any provider the same way.
func (p *FileProvider) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Read implements Provider; a missing file is version 0 with no values.
func (p *FileProvider) Read(ctx context.Context) (Snapshot, error) {
	doc, err := readFileDoc(p.path)
	if err != nil {
		return Snapshot{}, err
	}
	if fi, err := os.Stat(p.path); err == nil && fi.Mode().Perm()&0o077 != 0 && !p.warnedMode.Swap(true) {
		p.log.Warn("secrets file is readable by other users; chmod 600 it", "mode", fi.Mode().Perm().String())
	}
	return Snapshot{Values: doc.Values, Version: doc.Version}, nil
}

// Write implements Provider.
func (p *FileProvider) Write(ctx context.Context, values map[string]string, cas int) (int, error) {
	var version int
	err := withFileLock(ctx, p.path, func() error {
		doc, err := readFileDoc(p.path)
		if err != nil {
			return err
		}
		if doc.Version != cas {
			return fmt.Errorf("write secrets file %s at version %d (it is at %d): %w", p.path, cas, doc.Version, ErrCASMismatch)
		}
		version = doc.Version + 1
		return writeFileDoc(p.path, fileDoc{Version: version, Values: values})
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// SeedFile creates the secrets file with values as version 1 unless it
// already exists (then it leaves it alone): `mutt dev` seeds generated
// credentials on first start and keeps them, rotated or not, afterwards.
func SeedFile(path string, values map[string]string) error {
	return withFileLock(context.Background(), path, func() error {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("seed secrets file %s: %w", path, err)
		}
		return writeFileDoc(path, fileDoc{Version: 1, Values: values})
	})
}

func readFileDoc(path string) (fileDoc, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator configured this secrets file path; reading it is the point
	if errors.Is(err, fs.ErrNotExist) {
		return fileDoc{Values: map[string]string{}}, nil
	}
	if err != nil {
		return fileDoc{}, fmt.Errorf("read secrets file %s: %w", path, err)
	}
	var doc fileDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		// json's messages name types and offsets, never the values.
		return fileDoc{}, fmt.Errorf("parse secrets file %s (want {\"version\":N,\"values\":{\"KEY\":\"value\"}}): %w", path, err)
	}
	if doc.Version < 0 {
		return fileDoc{}, fmt.Errorf("parse secrets file %s: negative version %d", path, doc.Version)
	}
	if doc.Values == nil {
		doc.Values = map[string]string{}
	}
	return doc, nil
}

// writeFileDoc replaces path atomically: a reader sees the old file or the
// new one, and a crash leaves at worst a stray temp file.
func writeFileDoc(path string, doc fileDoc) error {
	if doc.Values == nil {
		doc.Values = map[string]string{}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode secrets file: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // created 0600
	if err != nil {
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write secrets file %s: %w", path, err)
	}
	// Make the rename durable.
	if d, err := os.Open(dir); err == nil { // #nosec G304 -- the directory of the configured secrets file, opened only to fsync it
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// withFileLock runs fn holding an exclusive flock on path+".lock". flock
// locks belong to the open file, so this serialises goroutines of one
// process as well as separate processes. The lock is polled so a cancelled
// ctx stops the wait.
func withFileLock(ctx context.Context, path string, fn func() error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the secrets directory: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600) // #nosec G304 -- the lock file beside the configured secrets file
	if err != nil {
		return fmt.Errorf("open the secrets lock file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil { // closing releases the lock
			err = fmt.Errorf("close the secrets lock file: %w", cerr)
		}
	}()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("lock %s.lock: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s.lock: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fn()
}
