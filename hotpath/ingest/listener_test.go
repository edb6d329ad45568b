package ingest_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// slowBody opens a connection, sends the headers of a POST /ingest that
// announces a 100000-byte body, then only its first bytes: a client that
// trickles (or never sends) the rest.
func slowBody(t *testing.T, addr, apiKey string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	// A safety net far beyond every server timeout these tests set.
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(c, "POST /ingest HTTP/1.1\r\nHost: mutt\r\nContent-Type: application/json\r\n"+
		"X-API-KEY: "+apiKey+"\r\nContent-Length: 100000\r\n\r\n[{\"hostname\":\"r1\",")
	require.NoError(t, err)
	return c, bufio.NewReader(c)
}

// requireClosed reads until the server closes the connection.
func requireClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	_, err := io.ReadAll(r)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection open")
}

// Without a valid key, the 401 comes at once and the connection closes:
// the server does not wait for the announced body (before: it waited with no
// deadline at all, one goroutine and socket per such client).
func TestUnauthenticatedSlowBodyIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{}) // default listener timeouts: 30 s read, far past the safety net
	_, r := slowBody(t, e.addr, "wrong-key")
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.True(t, res.Close, "the 401 says Connection: close")
	_, _ = io.Copy(io.Discard, res.Body)
	requireClosed(t, r)
}

// With a valid key the body gets MUTT_INGEST_BODY_TIMEOUT, then a 408.
func TestAuthenticatedSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{cfg: ingest.Config{BodyTimeout: 300 * time.Millisecond}})
	_, r := slowBody(t, e.addr, key)
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestTimeout, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), "MUTT_INGEST_BODY_TIMEOUT")
	requireClosed(t, r)
	require.Zero(t, e.backlog(t))
	require.EqualValues(t, 1, testenv.Metric(t, e.reg, "mutt_ingest_requests_total", map[string]string{"status": "fail", "reason": "timeout"}))
}

// The listener's read timeout does not cut an authenticated body that takes
// longer: the body timeout replaces it once the key is accepted.
func TestBodyTimeoutOutlastsTheListenerReadTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, setup{cfg: ingest.Config{BodyTimeout: time.Minute},
		http: telemetry.HTTPConfig{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}})
	body := batch("slow-link", 10)
	c, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = fmt.Fprintf(c, "POST /ingest HTTP/1.1\r\nHost: mutt\r\nX-API-KEY: %s\r\nContent-Length: %d\r\n\r\n", key, len(body))
	require.NoError(t, err)
	// A slow but steady client: ten pieces over about a second, three times
	// the listener's read timeout.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	step := len(body)/10 + 1
	for i := 0; i < len(body); i += step {
		<-tick.C
		_, err := io.WriteString(c, body[i:min(i+step, len(body))])
		require.NoError(t, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(raw))
	require.EqualValues(t, 10, e.backlog(t))
}

func TestIngestOverTLSAndMutualTLS(t *testing.T) {
	t.Parallel()
	ca, clients := testenv.NewTestCA(t, "ingest"), testenv.NewTestCA(t, "devices")
	cert, keyFile := ca.Path("tls.crt"), ca.Path("tls.key")
	ca.Issue(t, "ingest", cert, keyFile)
	device := clients.Issue(t, "relay1", "", "")
	for _, mode := range []string{"", "optional", "require"} {
		t.Run("client_auth="+mode, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"INGEST_API_KEY": key, "MUTT_INGEST_TLS_CERT_FILE": cert, "MUTT_INGEST_TLS_KEY_FILE": keyFile}
			if mode != "" {
				vars["MUTT_INGEST_TLS_CLIENT_CA_FILE"] = clients.File
				vars["MUTT_INGEST_TLS_CLIENT_AUTH"] = mode
			}
			env := config.FromMap(vars)
			cfg := ingest.ReadConfig(env)
			require.NoError(t, env.Err())
			client := func(certs ...tls.Certificate) *http.Client {
				return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
					RootCAs: ca.Pool, Certificates: certs}}}
			}
			e := newEnv(t, setup{cfg: cfg, client: client(device)})
			require.True(t, strings.HasPrefix(e.url, "https://"))
			r := e.post(t, evt("tls-host", 1))
			require.Equal(t, http.StatusOK, r.code, r.raw)

			// Without a client certificate.
			req, err := http.NewRequest(http.MethodPost, e.url+"/ingest", strings.NewReader(evt("tls-host", 2)))
			require.NoError(t, err)
			req.Header.Set("X-API-KEY", key)
			res, err := client().Do(req)
			if mode == "require" {
				require.Error(t, err, "a client without a certificate is refused")
			} else {
				require.NoError(t, err)
				require.NoError(t, res.Body.Close())
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
			// Plain HTTP on the TLS port gets no answer from the pipeline.
			res, err = http.Post("http://"+e.addr+"/ingest", "application/json", strings.NewReader(evt("h", 3)))
			if err == nil {
				require.NoError(t, res.Body.Close())
				require.Equal(t, http.StatusBadRequest, res.StatusCode)
			}
		})
	}
}
