package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/mutt-ops/mutt/internal/config"
)

// Defaults of HTTPConfig (docs/adr/0014-listeners-timeouts-and-tls.md).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 1024
)

// HTTPConfig bounds what one client can hold on a listener. Zero fields take
// the defaults above. A handler that needs longer for one request (the
// ingestor's large bodies) extends its own deadlines with
// http.ResponseController.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response, so a client that does not read cannot hold a handler.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	// MaxConns caps the open connections of the listener; more wait in the
	// kernel's accept queue until one closes.
	MaxConns int
	// TLS, when set, makes the listener serve HTTPS only.
	TLS *tls.Config
}

// ReadHTTPConfig reads the listener limits every role shares
// (MUTT_HTTP_*). Problems are recorded in e, naming the variable.
func ReadHTTPConfig(e *config.Env) HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout: e.Duration(DefaultReadHeaderTimeout, "MUTT_HTTP_READ_HEADER_TIMEOUT"),
		ReadTimeout:       e.Duration(DefaultReadTimeout, "MUTT_HTTP_READ_TIMEOUT"),
		WriteTimeout:      e.Duration(DefaultWriteTimeout, "MUTT_HTTP_WRITE_TIMEOUT"),
		IdleTimeout:       e.Duration(DefaultIdleTimeout, "MUTT_HTTP_IDLE_TIMEOUT"),
		MaxHeaderBytes:    e.Int(DefaultMaxHeaderBytes, 4<<10, 1<<20, "MUTT_HTTP_MAX_HEADER_BYTES"),
		MaxConns:          e.Int(DefaultMaxConns, 1, 1<<20, "MUTT_HTTP_MAX_CONNS"),
	}
}

// WithDefaults fills the zero fields.
func (c HTTPConfig) WithDefaults() HTTPConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// NewServer is the one way MUTT builds an http.Server: every timeout set,
// headers bounded, and SecurityHeaders in front of h.
func NewServer(h http.Handler, c HTTPConfig, log *slog.Logger) *http.Server {
	c = c.WithDefaults()
	return &http.Server{
		Handler:           SecurityHeaders(h),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		// TLS is the listener's (ServeListener), not TLSConfig: that is
		// only for ServeTLS, and Serve would add h2 to it.
		// TLS handshake failures and the like are a client's problem; at
		// debug level they do not flood the log when scanned.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Serve runs an HTTP server on addr until ctx ends, then shuts it down,
// letting in-flight requests finish for up to 10 s.
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, c HTTPConfig) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, log, ln, h, c)
}

// ServeListener is Serve on an open listener (which it closes).
func ServeListener(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler, c HTTPConfig) error {
	c = c.WithDefaults()
	srv := NewServer(h, c, log)
	ln = netutil.LimitListener(ln, c.MaxConns)
	if c.TLS != nil {
		ln = tls.NewListener(ln, c.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "tls", c.TLS != nil, "max_conns", c.MaxConns)
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}

// ContentSecurityPolicy is the policy of every answer: the UI loads only its
// own script, style and images and talks only to its own origin; no page
// may frame it, and no form or <base> may send anything elsewhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// SetSecurityHeaders sets the headers every MUTT answer carries. Cache-Control
// is no-store (API answers carry keys' data); a handler that serves
// cacheable assets overrides it.
func SetSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Cache-Control", "no-store")
}

// SecurityHeaders is the middleware form of SetSecurityHeaders.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}
