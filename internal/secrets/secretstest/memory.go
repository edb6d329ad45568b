// Package secretstest offers tests an in-memory secrets.Provider whose values
// they change at will. It is imported only by tests.
package secretstest

import (
	"context"
	"maps"
	"sync"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// Memory is a secrets.Provider held in memory. Write replaces every value and
// bumps the version; it ignores the check-and-set version, so a test can
// overwrite the secrets as often as it likes.
type Memory struct {
	mu sync.Mutex
	s  secrets.Snapshot
}

// Read returns a copy of the current values.
func (p *Memory) Read(context.Context) (secrets.Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return secrets.Snapshot{Values: maps.Clone(p.s.Values), Version: p.s.Version}, nil
}

// Write replaces the values (whatever cas says) and returns the new version.
func (p *Memory) Write(_ context.Context, v map[string]string, _ int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s = secrets.Snapshot{Values: maps.Clone(v), Version: p.s.Version + 1}
	return p.s.Version, nil
}

// Name is "memory".
func (p *Memory) Name() string { return "memory" }
