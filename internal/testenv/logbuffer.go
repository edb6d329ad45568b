package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects what loggers on several goroutines write, for a test to
// read (a bytes.Buffer that is safe for concurrent use).
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
