package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/mutt-ops/mutt/internal/testenv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

var quiet = slog.New(slog.DiscardHandler)

// listen serves h with c on a fresh loopback port through ServeListener,
// the function every MUTT listener goes through, and returns its address.
func listen(t *testing.T, h http.Handler, c telemetry.HTTPConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- telemetry.ServeListener(ctx, quiet, ln, h, c) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return ln.Addr().String()
}

// dial opens a raw connection whose every read and write gives up after a
// safety deadline far beyond the server's timeouts in these tests.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	return c
}

// requireClosedByServer reads until the server closes the connection; a
// client-side deadline error means the server kept it open.
func requireClosedByServer(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open (read so far: %q)", b)
	}
	return string(b)
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	addr := listen(t, ok, telemetry.HTTPConfig{ReadHeaderTimeout: 200 * time.Millisecond})
	c := dial(t, addr)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: mutt\r\nX-Slow: ")
	require.NoError(t, err)
	require.NotContains(t, requireClosedByServer(t, c), "200 OK")
}

func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	read := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		read <- err
	})
	addr := listen(t, h, telemetry.HTTPConfig{ReadTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	_, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: mutt\r\nContent-Length: 100000\r\n\r\n{\"hostname\":")
	require.NoError(t, err)
	select {
	case err := <-read:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still reading a body that never comes")
	}
	requireClosedByServer(t, c)
}

func TestSlowReaderIsCutOff(t *testing.T) {
	t.Parallel()
	wrote := make(chan error, 1)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 256 { // far more than the socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	})
	addr := listen(t, h, telemetry.HTTPConfig{WriteTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	_, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: mutt\r\n\r\n")
	require.NoError(t, err)
	// The client reads nothing.
	select {
	case err := <-wrote:
		require.Error(t, err, "the write must fail once the client stops reading")
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still blocked writing to a client that does not read")
	}
}

func TestConnectionCap(t *testing.T) {
	t.Parallel()
	addr := listen(t, ok, telemetry.HTTPConfig{MaxConns: 2})
	get := func(c net.Conn) {
		t.Helper()
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: mutt\r\n\r\n")
		require.NoError(t, err)
	}
	answered := func(r *bufio.Reader) {
		t.Helper()
		res, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		_, _ = io.Copy(io.Discard, res.Body)
	}
	c1, c2 := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{c1, c2} {
		get(c)
		answered(bufio.NewReader(c))
	}
	// Two keep-alive connections hold both slots: a third waits.
	c3 := dial(t, addr)
	get(c3)
	r3 := bufio.NewReader(c3)
	require.NoError(t, c3.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
	_, err := r3.Peek(1)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "a third connection was served past the cap: %v", err)
	// One closes: the third is served.
	require.NoError(t, c1.Close())
	require.NoError(t, c3.SetReadDeadline(time.Now().Add(20*time.Second)))
	answered(r3)
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("GET /health", telemetry.HealthHandler(quiet, "svc"))
	addr := listen(t, mux, telemetry.HTTPConfig{})
	for _, p := range []string{"/health", "/missing"} {
		res, err := http.Get("http://" + addr + p)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), p)
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), p)
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), p)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", p)
	}
}

func TestHealthAnswersAStatusAndLogsTheDetail(t *testing.T) {
	t.Parallel()
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	detail := `failed to connect to user=mutt_svc database=mutt_prod: dial tcp 10.20.30.40:5432: connect: connection refused`
	h := telemetry.HealthHandler(log, "mutt-api",
		telemetry.Check{Name: "postgres", Fn: func(context.Context) error { return errors.New(detail) }},
		telemetry.Check{Name: "redis", Fn: func(context.Context) error { return nil }})
	addr := listen(t, h, telemetry.HTTPConfig{})
	for range 3 {
		res, err := http.Get("http://" + addr + "/health")
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
		require.JSONEq(t, `{"status":"unhealthy","service":"mutt-api","dependencies":{"postgres":"error","redis":"ok"},
			"version":"(devel)","redis":"connected","database":"disconnected"}`, string(body))
		for _, leak := range []string{"10.20.30.40", "mutt_prod", "mutt_svc", "dial", "refused"} {
			require.NotContains(t, string(body), leak)
		}
	}
	require.Equal(t, 1, strings.Count(logs.String(), "10.20.30.40"), "the detail is logged once, not per probe: %s", logs.String())
}

func TestReadHTTPConfig(t *testing.T) {
	t.Parallel()
	e := config.FromMap(map[string]string{"MUTT_HTTP_READ_TIMEOUT": "45s", "MUTT_HTTP_MAX_CONNS": "10"})
	c := telemetry.ReadHTTPConfig(e)
	require.NoError(t, e.Err())
	require.Equal(t, 45*time.Second, c.ReadTimeout)
	require.Equal(t, 10, c.MaxConns)
	require.Equal(t, telemetry.DefaultWriteTimeout, c.WriteTimeout)
	e = config.FromMap(map[string]string{"MUTT_HTTP_MAX_CONNS": "0", "MUTT_HTTP_WRITE_TIMEOUT": "soon"})
	telemetry.ReadHTTPConfig(e)
	require.ErrorContains(t, e.Err(), "MUTT_HTTP_MAX_CONNS")
	require.ErrorContains(t, e.Err(), "MUTT_HTTP_WRITE_TIMEOUT")
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	t.Parallel()
	addr := listen(t, ok, telemetry.HTTPConfig{})
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 2*telemetry.DefaultMaxHeaderBytes))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}
