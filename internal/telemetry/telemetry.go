// Package telemetry sets up logging (log/slog), the Prometheus registry, and
// the small HTTP servers every MUTT process exposes for /health and /metrics.
package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

// NewLogger returns a JSON ("json") or text ("text") logger at level.
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	// A dependency that is down makes every request fail the same way:
	// one line per DedupWindow with a count, not one per request.
	return slog.New(NewDedupHandler(h, DedupWindow))
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Check is one dependency check for /health.
type Check struct {
	Name string
	Fn   func(context.Context) error
}

// healthLogEvery bounds how often one failing check is logged: probes come
// every few seconds, and one line a minute says enough.
const healthLogEvery = time.Minute

// HealthHandler answers 200 {"status":"healthy",...} when every check passes
// and 503 {"status":"unhealthy",...} otherwise, with each dependency's state
// ("ok" or "error"). /health answers without a key, so a failure's detail
// (driver text: roles, database names, internal addresses) goes only to log,
// at most once a minute per check. Checks run concurrently with a 2 s budget.
func HealthHandler(log *slog.Logger, service string, checks ...Check) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := make([]*rate.Sometimes, len(checks))
	for i := range every {
		every[i] = &rate.Sometimes{Interval: healthLogEvery}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		deps := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		healthy := true
		for i, c := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				state := "ok"
				if err := c.Fn(ctx); err != nil {
					state = "error"
					every[i].Do(func() {
						log.Warn("health check failed", "service", service, "dependency", c.Name, "err", err)
					})
				}
				mu.Lock()
				defer mu.Unlock()
				deps[c.Name] = state
				if state != "ok" {
					healthy = false
				}
			}()
		}
		wg.Wait()
		body := map[string]any{"status": "healthy", "service": service, "dependencies": deps, "version": buildVersion()}
		// The Python MUTT's fields (peer-management §2.3 #1): "redis" and
		// "database", "connected" or "disconnected".
		for name, field := range pythonHealthFields {
			if st, ok := deps[name]; ok {
				body[field] = map[bool]string{true: "connected", false: "disconnected"}[st == "ok"]
			}
		}
		code := http.StatusOK
		if !healthy {
			body["status"], code = "unhealthy", http.StatusServiceUnavailable
		}
		WriteJSON(w, code, body)
	})
}

// pythonHealthFields maps a dependency to the field the Python MUTT's
// /health named it by.
var pythonHealthFields = map[string]string{"redis": "redis", "postgres": "database"}

// buildVersion is the module version of the binary ("(devel)" in a build
// from a work tree), the "version" of /health.
var buildVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
})

// WriteJSON writes v as a JSON response with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Register registers every collector with reg; an error names what (e.g.
// "ingest metrics") and the collector that clashed.
func Register(reg prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register %s: %w", what, err)
		}
	}
	return nil
}
