package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DedupWindow is how long repeats of one warning or error line are folded
// into a single line with a count.
const DedupWindow = 10 * time.Second

// dedupMaxKeys bounds the lines tracked at once; past it lines pass as they
// are rather than memory growing with every distinct error text.
const dedupMaxKeys = 1024

// NewDedupHandler wraps next so that a warning or error line repeated with
// the same message and "err" (other attributes such as correlation_id may
// differ) is written once, and its repeats within window become one line at
// the end of the window carrying "repeated" (how many were folded) and the
// attributes of the last one. While the failure goes on that is one line per
// window instead of one per request; debug and info lines pass untouched.
func NewDedupHandler(next slog.Handler, window time.Duration) slog.Handler {
	return &dedupHandler{next: next, window: window, st: &dedupState{seen: map[string]*dedupEntry{}}}
}

type dedupHandler struct {
	next   slog.Handler
	window time.Duration
	scope  string // the attributes and groups added with With…, part of the key
	st     *dedupState
}

type dedupState struct {
	mu   sync.Mutex
	seen map[string]*dedupEntry
}

type dedupEntry struct {
	folded int
	last   slog.Record
	next   slog.Handler
}

func (h *dedupHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *dedupHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.scope = h.scope + fmt.Sprint(as)
	return &c
}

func (h *dedupHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	c.scope = h.scope + "." + name
	return &c
}

func (h *dedupHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	var b strings.Builder
	b.WriteString(h.scope)
	fmt.Fprintf(&b, "\x00%d\x00%s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			b.WriteString("\x00" + a.Value.String())
		}
		return true
	})
	key := b.String()
	h.st.mu.Lock()
	if e, ok := h.st.seen[key]; ok {
		e.folded++
		e.last, e.next = r.Clone(), h.next
		h.st.mu.Unlock()
		return nil
	}
	if len(h.st.seen) < dedupMaxKeys {
		h.st.seen[key] = &dedupEntry{}
		time.AfterFunc(h.window, func() { h.flush(key) })
	}
	h.st.mu.Unlock()
	return h.next.Handle(ctx, r)
}

// flush ends a window: without repeats the line is forgotten; with repeats
// one line says how many, and a new window starts for the next ones.
func (h *dedupHandler) flush(key string) {
	h.st.mu.Lock()
	e := h.st.seen[key]
	if e == nil || e.folded == 0 {
		delete(h.st.seen, key)
		h.st.mu.Unlock()
		return
	}
	r, next, n := e.last, e.next, e.folded
	e.folded = 0
	time.AfterFunc(h.window, func() { h.flush(key) })
	h.st.mu.Unlock()
	r.AddAttrs(slog.Int("repeated", n), slog.Duration("within", h.window))
	_ = next.Handle(context.Background(), r)
}
