package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mutt-ops/mutt/internal/config"
)

// Client-certificate policies (<PREFIX>_CLIENT_AUTH).
const (
	ClientAuthRequire  = "require"  // a certificate signed by the client CA is required
	ClientAuthOptional = "optional" // verified when presented, else the connection goes on without one
)

// Files names the PEM files of one listener. The zero value means plain TCP.
type Files struct {
	// Prefix is the settings' common prefix (e.g. MUTT_INGEST_TLS): errors
	// name Prefix+"_CERT_FILE" and so on.
	Prefix            string
	CertFile, KeyFile string
	// ClientCAFile, when set, turns on client certificates (mTLS) checked
	// against these CAs; ClientAuth says whether one is required (the
	// default) or only verified when presented.
	ClientCAFile string
	ClientAuth   string
}

// Enabled reports whether TLS is configured.
func (f Files) Enabled() bool { return f.CertFile != "" }

func (f Files) certVar() string { return f.Prefix + "_CERT_FILE" }
func (f Files) keyVar() string  { return f.Prefix + "_KEY_FILE" }
func (f Files) caVar() string   { return f.Prefix + "_CLIENT_CA_FILE" }

// Read reads prefix+"_CERT_FILE", "_KEY_FILE" and, when clientCA is true,
// "_CLIENT_CA_FILE" and "_CLIENT_AUTH" (require or optional; require when
// unset), and loads the files once so a bad path or a key that does not
// match fails at start, naming the variable. Problems are recorded in e.
func Read(e *config.Env, prefix string, clientCA bool) Files {
	f := Files{Prefix: prefix}
	f.CertFile = e.String("", f.certVar())
	f.KeyFile = e.String("", f.keyVar())
	if clientCA {
		f.ClientCAFile = e.String("", f.caVar())
		authVar := prefix + "_CLIENT_AUTH"
		f.ClientAuth = e.String("", authVar)
		switch {
		case f.ClientAuth == "":
		case f.ClientAuth != ClientAuthRequire && f.ClientAuth != ClientAuthOptional:
			e.Fail(authVar, "%q is not require or optional", f.ClientAuth)
		case f.ClientCAFile == "":
			e.Fail(authVar, "is set but %s is not: client certificates need the CAs that sign them", f.caVar())
		}
	}
	switch {
	case f.CertFile == "" && f.KeyFile == "" && f.ClientCAFile == "":
		return f
	case f.CertFile == "":
		e.Fail(f.certVar(), "is required when %s or %s is set", f.keyVar(), f.caVar())
		return f
	case f.KeyFile == "":
		e.Fail(f.keyVar(), "is required when %s is set", f.certVar())
		return f
	}
	if _, err := f.load(); err != nil {
		e.FailErr(f.certVar(), err)
	}
	return f
}

// loaded is what the files held at one moment.
type loaded struct {
	cfg   *tls.Config
	stamp []fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func (f Files) stamps() ([]fileStamp, error) {
	var out []fileStamp
	for i, p := range []string{f.CertFile, f.KeyFile, f.ClientCAFile} {
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, &config.VarError{Name: []string{f.certVar(), f.keyVar(), f.caVar()}[i], Err: err}
		}
		out = append(out, fileStamp{st.ModTime(), st.Size()})
	}
	return out, nil
}

func (f Files) load() (*loaded, error) {
	stamp, err := f.stamps()
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(f.CertFile) // #nosec G304 -- the path is the operator's own setting
	if err != nil {
		return nil, &config.VarError{Name: f.certVar(), Err: err}
	}
	keyPEM, err := os.ReadFile(f.KeyFile) // #nosec G304 -- the path is the operator's own setting
	if err != nil {
		return nil, &config.VarError{Name: f.keyVar(), Err: err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &config.VarError{Name: f.certVar(), Err: fmt.Errorf("%s with %s: %w", f.CertFile, f.KeyFile, err)}
	}
	cfg := base()
	cfg.Certificates = []tls.Certificate{cert}
	if f.ClientCAFile != "" {
		caPEM, err := os.ReadFile(f.ClientCAFile) // #nosec G304 -- the path is the operator's own setting
		if err != nil {
			return nil, &config.VarError{Name: f.caVar(), Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, &config.VarError{Name: f.caVar(), Err: fmt.Errorf("%s holds no PEM certificate", f.ClientCAFile)}
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if f.ClientAuth == ClientAuthOptional {
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return &loaded{cfg: cfg, stamp: stamp}, nil
}

// base is the policy of every listener: TLS 1.2 at least (1.3 preferred by
// Go's negotiation); Go's default cipher suites are the secure set. Only
// HTTP/1.1 is offered: the listeners' per-request deadlines and connection
// cap are per connection (docs/adr/0014-listeners-timeouts-and-tls.md).
func base() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// checkEvery bounds how often a handshake stats the files.
const checkEvery = time.Second

// Reloader serves the current files' certificate and client CAs.
type Reloader struct {
	files Files
	log   *slog.Logger
	mu    sync.Mutex
	cur   *loaded
	next  time.Time // next stat of the files
	warn  rate.Sometimes
}

// New loads the files and returns the server tls.Config of the listener:
// every handshake uses what the files hold now (checked at most once a
// second, by modification time and size). A file that fails to load after a
// change keeps the last good certificate in use and is logged.
func New(f Files, log *slog.Logger) (*tls.Config, error) {
	if !f.Enabled() {
		return nil, errors.New("tlsconfig: no certificate file configured")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if f.Prefix == "" {
		f.Prefix = "TLS"
	}
	l, err := f.load()
	if err != nil {
		return nil, err
	}
	r := &Reloader{files: f, log: log, cur: l, next: time.Now().Add(checkEvery), warn: rate.Sometimes{Interval: time.Minute}}
	cfg := base()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.config(), nil }
	return cfg, nil
}

// config returns the tls.Config of the files as they are now.
func (r *Reloader) config() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Before(r.next) {
		return r.cur.cfg
	}
	r.next = now.Add(checkEvery)
	stamp, err := r.files.stamps()
	if err != nil {
		r.warn.Do(func() {
			r.log.Warn("tls files unreadable; keeping the loaded certificate", "cert_file", r.files.CertFile, "err", err)
		})
		return r.cur.cfg
	}
	if equalStamps(stamp, r.cur.stamp) {
		return r.cur.cfg
	}
	l, err := r.files.load()
	if err != nil {
		// cert-manager writes the certificate and the key one after the
		// other: a pair that does not match yet is tried again next second.
		r.warn.Do(func() {
			r.log.Warn("tls files changed but do not load; keeping the loaded certificate", "cert_file", r.files.CertFile, "err", err)
		})
		return r.cur.cfg
	}
	r.log.Info("tls certificate reloaded", "cert_file", r.files.CertFile)
	r.cur = l
	return l.cfg
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}
