package activities

import (
	"context"
	"maps"
	"sync"

	"github.com/mutt-ops/mutt/internal/secrets"
)

// memProvider is an in-memory secrets.Provider with check-and-set, for tests.
type memProvider struct {
	mu      sync.Mutex
	values  map[string]string
	version int
	writes  int
	// conflicts makes the next n writes fail with ErrCASMismatch after
	// bumping the version, as a concurrent writer would.
	conflicts int
}

func newMemProvider(values map[string]string) *memProvider {
	p := &memProvider{values: maps.Clone(values)}
	if values != nil {
		p.version = 1
	}
	return p
}

func (p *memProvider) Read(context.Context) (secrets.Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return secrets.Snapshot{Values: maps.Clone(p.values), Version: p.version}, nil
}

func (p *memProvider) Write(_ context.Context, values map[string]string, cas int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conflicts > 0 {
		p.conflicts--
		p.version++
		return 0, secrets.ErrCASMismatch
	}
	if cas != p.version {
		return 0, secrets.ErrCASMismatch
	}
	p.values = maps.Clone(values)
	p.version++
	p.writes++
	return p.version, nil
}

func (p *memProvider) Name() string { return "memory" }

func (p *memProvider) get(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.values[key]
}

func (p *memProvider) snapshot() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.values)
}
