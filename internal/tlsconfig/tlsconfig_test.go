package tlsconfig_test

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// serve accepts TLS connections with cfg and answers each with "ok" once
// the handshake succeeds; it returns the address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// talk dials addr with cfg and returns what the server said, or the error
// (with TLS 1.3 a refused client certificate shows on the first read).
func talk(addr string, cfg *tls.Config) (string, *x509Subject, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return "", nil, err
	}
	st := c.ConnectionState()
	return string(b), &x509Subject{cn: st.PeerCertificates[0].Subject.CommonName, version: st.Version}, nil
}

type x509Subject struct {
	cn      string
	version uint16
}

type setup struct {
	ca              *testenv.TestCA
	cert, key       string
	clientCA        *testenv.TestCA
	clientCert, bad tls.Certificate
	env             map[string]string
}

func newSetup(t *testing.T) *setup {
	s := &setup{ca: testenv.NewTestCA(t, "server"), clientCA: testenv.NewTestCA(t, "clients")}
	s.cert, s.key = s.ca.Path("tls.crt"), s.ca.Path("tls.key")
	s.ca.Issue(t, "server-1", s.cert, s.key)
	s.clientCert = s.clientCA.Issue(t, "router1", "", "")
	s.bad = testenv.NewTestCA(t, "stranger").Issue(t, "intruder", "", "")
	s.env = map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": s.key}
	return s
}

func (s *setup) config(t *testing.T) *tls.Config {
	t.Helper()
	e := config.FromMap(s.env)
	f := tlsconfig.Read(e, "X_TLS", true)
	require.NoError(t, e.Err())
	cfg, err := tlsconfig.New(f, nil)
	require.NoError(t, err)
	return cfg
}

// client presents certs[0] whatever CAs the server asks for (Go's client
// would otherwise send nothing when its certificate does not match them).
func (s *setup) client(certs ...tls.Certificate) *tls.Config {
	cfg := &tls.Config{RootCAs: s.ca.Pool, ServerName: "localhost"}
	if len(certs) > 0 {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	return cfg
}

func TestTLSServesAndRefusesOldVersions(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	addr := serve(t, s.config(t))
	got, peer, err := talk(addr, s.client())
	require.NoError(t, err)
	require.Equal(t, "ok", got)
	require.Equal(t, "server-1", peer.cn)

	tls12 := s.client()
	tls12.MaxVersion = tls.VersionTLS12
	_, peer, err = talk(addr, tls12)
	require.NoError(t, err, "TLS 1.2 is the minimum, and allowed")
	require.Equal(t, uint16(tls.VersionTLS12), peer.version)

	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		old := s.client()
		old.MinVersion, old.MaxVersion = v, v
		_, _, err = talk(addr, old)
		require.Error(t, err, "TLS version %x must be refused", v)
	}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		auth                         string
		withCert, without, strangers bool
	}{
		{auth: "require", withCert: true, without: false, strangers: false},
		{auth: "optional", withCert: true, without: true, strangers: false},
	} {
		t.Run(c.auth, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t)
			s.env["X_TLS_CLIENT_CA_FILE"] = s.clientCA.File
			s.env["X_TLS_CLIENT_AUTH"] = c.auth
			addr := serve(t, s.config(t))
			check := func(ok bool, certs ...tls.Certificate) {
				t.Helper()
				got, _, err := talk(addr, s.client(certs...))
				if ok {
					require.NoError(t, err)
					require.Equal(t, "ok", got)
				} else {
					require.Error(t, err)
				}
			}
			check(c.withCert, s.clientCert)
			check(c.without)
			check(c.strangers, s.bad)
		})
	}
}

func TestCertificateReloadedWhenFilesChange(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	s.env["X_TLS_CLIENT_CA_FILE"] = s.clientCA.File
	addr := serve(t, s.config(t))
	_, peer, err := talk(addr, s.client(s.clientCert))
	require.NoError(t, err)
	require.Equal(t, "server-1", peer.cn)

	// cert-manager renews: a new certificate and key (and a new client CA)
	// replace the files; connections already made are not disturbed.
	s.ca.Issue(t, "server-2", s.cert, s.key)
	newClients := testenv.NewTestCA(t, "clients-2")
	pem, err := os.ReadFile(newClients.File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.clientCA.File, pem, 0o600))
	future := time.Now().Add(time.Minute)
	for _, f := range []string{s.cert, s.key, s.clientCA.File} {
		require.NoError(t, os.Chtimes(f, future, future))
	}
	newClient := newClients.Issue(t, "router2", "", "")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, peer, err := talk(addr, s.client(newClient))
		if !assert.NoError(c, err) {
			return
		}
		assert.Equal(c, "server-2", peer.cn)
	}, 15*time.Second, 100*time.Millisecond)
	_, _, err = talk(addr, s.client(s.clientCert))
	require.Error(t, err, "a client certificate of the replaced CA is refused")
}

func TestReadNamesTheVariable(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	other := s.ca.Path("other.key")
	s.ca.Issue(t, "other", s.ca.Path("other.crt"), other)
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"X_TLS_CERT_FILE": s.cert}, "X_TLS_KEY_FILE: is required"},
		{map[string]string{"X_TLS_KEY_FILE": s.key}, "X_TLS_CERT_FILE: is required"},
		{map[string]string{"X_TLS_CERT_FILE": s.ca.Path("missing.crt"), "X_TLS_KEY_FILE": s.key}, "X_TLS_CERT_FILE"},
		{map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": s.ca.Path("missing.key")}, "X_TLS_KEY_FILE"},
		{map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": other}, "X_TLS_CERT_FILE"},
		{map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": s.key, "X_TLS_CLIENT_CA_FILE": s.key}, "X_TLS_CLIENT_CA_FILE: "},
		{map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": s.key, "X_TLS_CLIENT_AUTH": "optional"}, "X_TLS_CLIENT_AUTH: is set but X_TLS_CLIENT_CA_FILE"},
		{map[string]string{"X_TLS_CERT_FILE": s.cert, "X_TLS_KEY_FILE": s.key, "X_TLS_CLIENT_CA_FILE": s.clientCA.File, "X_TLS_CLIENT_AUTH": "maybe"}, "X_TLS_CLIENT_AUTH: \"maybe\""},
	} {
		e := config.FromMap(c.env)
		tlsconfig.Read(e, "X_TLS", true)
		require.ErrorContains(t, e.Err(), c.want, c.env)
	}
	e := config.FromMap(nil)
	require.False(t, tlsconfig.Read(e, "X_TLS", true).Enabled())
	require.NoError(t, e.Err())
}
