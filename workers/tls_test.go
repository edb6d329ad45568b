package workers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
)

// testCA is a certificate authority of the test's own.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemPath string
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name+".pem")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return &testCA{cert: cert, key: key, pemPath: p}
}

// issue signs a leaf certificate and writes it and its key as PEM files.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage, dnsName string) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{dnsName}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cp, certPEM, 0o600))
	require.NoError(t, os.WriteFile(kp, keyPEM, 0o600))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return pair, cp, kp
}

// tlsFront is a TLS-terminating HTTP/2 reverse proxy in front of the test
// dev server (which speaks h2c), standing in for Temporal Cloud or a
// TLS-secured cluster. It records the authorization headers it sees.
type tlsFront struct {
	addr string
	mu   sync.Mutex
	auth []string
}

func (f *tlsFront) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

const serverName = "temporal.test"

func startTLSFront(t *testing.T, ca *testCA, clientCA *testCA) *tlsFront {
	t.Helper()
	serverCert, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth, serverName)
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	target := testenv.TemporalAddress()
	f := &tlsFront{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", target
		},
		Transport:     &http.Transport{Protocols: &h2c},
		FlushInterval: -1,
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	s.EnableHTTP2 = true
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshakes are expected
	s.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.cert)
		s.TLS.ClientCAs, s.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	f.addr = s.Listener.Addr().String()
	return f
}

// dial reads the Temporal variables as `mutt worker` does and dials.
func dial(t *testing.T, vars map[string]string) error {
	t.Helper()
	env := config.FromMap(vars)
	cfg := workers.ReadConfig(env)
	require.NoError(t, env.Err())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := workers.Dial(ctx, cfg.Temporal, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer c.Close()
	// A real call through the proxy, not only the SDK's health check.
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	return err
}

func TestDialOverTLS(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "server-ca")
	front := startTLSFront(t, ca, nil)

	t.Run("with the server CA", func(t *testing.T) {
		require.NoError(t, dial(t, map[string]string{"TEMPORAL_ADDRESS": front.addr,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca.pemPath, "TEMPORAL_TLS_SERVER_NAME": serverName}))
	})
	t.Run("without the server CA", func(t *testing.T) {
		err := dial(t, map[string]string{"TEMPORAL_ADDRESS": front.addr, "TEMPORAL_TLS": "true",
			"TEMPORAL_TLS_SERVER_NAME": serverName})
		require.ErrorContains(t, err, "certificate")
		require.ErrorContains(t, err, "TEMPORAL_TLS_SERVER_CA_CERT_PATH")
	})
	t.Run("with a server name the certificate lacks", func(t *testing.T) {
		err := dial(t, map[string]string{"TEMPORAL_ADDRESS": front.addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca.pemPath})
		require.ErrorContains(t, err, "TEMPORAL_TLS_SERVER_NAME")
	})
	t.Run("in plaintext", func(t *testing.T) {
		err := dial(t, map[string]string{"TEMPORAL_ADDRESS": front.addr})
		require.ErrorContains(t, err, "TEMPORAL_TLS=true")
	})
	t.Run("with an API key", func(t *testing.T) {
		require.NoError(t, dial(t, map[string]string{"TEMPORAL_ADDRESS": front.addr, "TEMPORAL_API_KEY": "k-secret",
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca.pemPath, "TEMPORAL_TLS_SERVER_NAME": serverName}))
		require.Contains(t, front.authorizations(), "Bearer k-secret")
	})
}

func TestDialWithMutualTLS(t *testing.T) {
	t.Parallel()
	ca, clientCA := newCA(t, "server-ca"), newCA(t, "client-ca")
	front := startTLSFront(t, ca, clientCA)
	_, certPath, keyPath := clientCA.issue(t, x509.ExtKeyUsageClientAuth, "mutt-worker")
	_, otherCert, otherKey := newCA(t, "other-ca").issue(t, x509.ExtKeyUsageClientAuth, "mutt-worker")
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"TEMPORAL_ADDRESS": front.addr,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca.pemPath, "TEMPORAL_TLS_SERVER_NAME": serverName}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	require.NoError(t, dial(t, base(map[string]string{
		"TEMPORAL_TLS_CLIENT_CERT_PATH": certPath, "TEMPORAL_TLS_CLIENT_KEY_PATH": keyPath})))
	err := dial(t, base(nil))
	require.ErrorContains(t, err, "TEMPORAL_TLS_CLIENT_CERT_PATH")
	err = dial(t, base(map[string]string{
		"TEMPORAL_TLS_CLIENT_CERT_PATH": otherCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": otherKey}))
	require.ErrorContains(t, err, "TEMPORAL_TLS_CLIENT_CERT_PATH")
}

func TestTemporalTLSConfigErrors(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	_, certPath, keyPath := ca.issue(t, x509.ExtKeyUsageClientAuth, "mutt-worker")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"cert without key", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": certPath}, "TEMPORAL_TLS_CLIENT_KEY_PATH: is required"},
		{"key without cert", map[string]string{"TEMPORAL_TLS_CLIENT_KEY_PATH": keyPath}, "TEMPORAL_TLS_CLIENT_CERT_PATH: is required"},
		{"unreadable cert", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": missing, "TEMPORAL_TLS_CLIENT_KEY_PATH": keyPath}, "TEMPORAL_TLS_CLIENT_CERT_PATH: "},
		{"unreadable key", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": certPath, "TEMPORAL_TLS_CLIENT_KEY_PATH": missing}, "TEMPORAL_TLS_CLIENT_KEY_PATH: "},
		{"mismatched pair", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": ca.pemPath, "TEMPORAL_TLS_CLIENT_KEY_PATH": keyPath}, "TEMPORAL_TLS_CLIENT_CERT_PATH: "},
		{"unreadable CA", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": missing}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH: "},
		{"CA that is no PEM", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": keyPath}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH: "},
		{"TLS off with a CA", map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca.pemPath}, "TEMPORAL_TLS: is false"},
		{"TLS not a bool", map[string]string{"TEMPORAL_TLS": "yes please"}, "TEMPORAL_TLS: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.FromMap(tc.vars)
			workers.ReadConfig(env)
			require.ErrorContains(t, env.Err(), tc.want)
		})
	}
}

func TestTemporalConnDefaults(t *testing.T) {
	t.Parallel()
	env := config.FromMap(map[string]string{"TEMPORAL_API_KEY": "k-secret"})
	c := workers.ReadConfig(env).Temporal
	require.NoError(t, env.Err())
	require.True(t, c.TLS, "an API key implies TLS")
	require.Equal(t, "127.0.0.1:7233", c.Address)
	require.Equal(t, "default", c.Namespace)
	// The key stays out of logs and printed configuration.
	require.NotContains(t, slog.AnyValue(c.APIKey).Resolve().String(), "k-secret")
	require.NotContains(t, fmtValue(c), "k-secret")

	env = config.FromMap(map[string]string{})
	require.False(t, workers.ReadConfig(env).Temporal.TLS, "plaintext by default, as the dev server speaks it")
	require.NoError(t, env.Err())
}

func fmtValue(v any) string { return fmt.Sprintf("%v %+v", v, v) }
