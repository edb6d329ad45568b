package syslog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// rig is an ingestor and a syslog receiver on one test's Redis prefix.
type rig struct {
	rdb  *redis.Client
	keys keyspace.Keys
	dyn  *dynconfig.Store
	reg  *prometheus.Registry
	rcv  *syslog.Receiver
}

type rigOpts struct {
	cfg     syslog.Config
	ingestR redis.UniversalClient // the ingestor's Redis (a proxy), default the test's
	runDyn  bool
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	ir := o.ingestR
	if ir == nil {
		ir = rdb
	}
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	if o.runDyn {
		done := make(chan struct{})
		go func() { defer close(done); _ = dyn.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	reg := prometheus.NewRegistry()
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{APIKeys: []string{"k"}}, Redis: ir, Keys: keys, Dyn: dyn,
		Log: quiet, Registerer: reg})
	require.NoError(t, err)
	if o.cfg.UDPAddr == "" && o.cfg.TCPAddr == "" && o.cfg.TLSAddr == "" {
		o.cfg.UDPAddr, o.cfg.TCPAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	rcv, err := syslog.New(syslog.Options{Config: o.cfg, Submit: srv, Redis: rdb, Keys: keys, Log: quiet, Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, rcv.Listen())
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rcv.Serve(rctx) }()
	t.Cleanup(func() {
		rcancel()
		require.NoError(t, <-done)
		cancel()
	})
	return &rig{rdb: rdb, keys: keys, dyn: dyn, reg: reg, rcv: rcv}
}

// events reads every envelope on the ingest stream shards, an entry of
// several (ADR 0048) split into its events, decoding the original too. It
// only asserts (t may be the collector of an Eventually condition): what it
// could not read is missing from the result.
func (r *rig) events(t assert.TestingT) []stored {
	var out []stored
	for _, s := range r.keys.IngestStreams() {
		msgs, err := r.rdb.XRange(context.Background(), s, "-", "+").Result()
		if !assert.NoError(t, err) {
			return out
		}
		for _, m := range msgs {
			for _, d := range testenv.Messages(m.Values[stream.Field]) {
				var e stored
				if assert.NoError(t, json.Unmarshal([]byte(d), &e.Envelope)) && assert.NoError(t, json.Unmarshal(e.Original, &e.orig)) {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

type stored struct {
	event.Envelope
	orig map[string]any
}

func (r *rig) deadLetters(t assert.TestingT) []map[string]any {
	msgs, err := r.rdb.XRange(context.Background(), r.keys.SyslogDLQ(), "-", "+").Result()
	assert.NoError(t, err)
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = m.Values
	}
	return out
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// logger runs util-linux logger against a listener.
func logger(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("logger", args...).CombinedOutput()
	require.NoError(t, err, "logger %s: %s", strings.Join(args, " "), out)
}

func TestLoggerOverEveryFraming(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{})
	udp, tcp := port(r.rcv.UDPAddr()), port(r.rcv.TCPAddr())
	cases := []struct {
		args   []string
		source string
		format string
	}{
		{[]string{"--udp", "--rfc5424", "-P", udp}, "syslog_udp", "rfc5424"},
		{[]string{"--udp", "--rfc3164", "-P", udp}, "syslog_udp", "rfc3164"},
		{[]string{"--tcp", "--rfc5424", "--octet-count", "-P", tcp}, "syslog_tcp", "rfc5424"},
		{[]string{"--tcp", "--rfc5424", "-P", tcp}, "syslog_tcp", "rfc5424"},
		{[]string{"--tcp", "--rfc3164", "-P", tcp}, "syslog_tcp", "rfc3164"},
		{[]string{"--tcp", "--rfc3164", "--octet-count", "-P", tcp}, "syslog_tcp", "rfc3164"},
	}
	for i, c := range cases {
		args := append([]string{"-n", "127.0.0.1", "-t", "ifmgr", "-p", "local4.crit", "--id=4242"}, c.args...)
		if c.format == "rfc5424" {
			args = append(args, "--msgid", "LINKDOWN", "--sd-id", "origin@32473", "--sd-param", `site="lab"`)
		}
		logger(t, append(args, fmt.Sprintf("case %d: Gi0/%d changed state to down", i, i))...)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), len(cases))
	}, 10*time.Second, 20*time.Millisecond)

	host, err := os.Hostname()
	require.NoError(t, err)
	got := map[string]stored{}
	for _, e := range r.events(t) {
		got[e.Message[:len("case 0")]] = e
	}
	for i, c := range cases {
		e, ok := got[fmt.Sprintf("case %d", i)]
		require.True(t, ok, "case %d (%v) arrived", i, c.args)
		require.Equal(t, c.source, e.Source, "case %d", i)
		require.Equal(t, c.format, e.orig["syslog_format"], "case %d", i)
		require.Equal(t, fmt.Sprintf("case %d: Gi0/%d changed state to down", i, i), e.Message)
		require.Equal(t, 2, *e.Severity)
		require.EqualValues(t, 20, e.orig["facility"])
		require.Equal(t, "local4", e.orig["facility_name"])
		require.Equal(t, "ifmgr", e.orig["app_name"])
		require.Equal(t, "4242", e.orig["proc_id"])
		require.Equal(t, "127.0.0.1", e.orig["source_ip"])
		require.True(t, strings.HasPrefix(host, e.Hostname) || strings.HasPrefix(e.Hostname, host), "hostname %q of %q", e.Hostname, host)
		require.WithinDuration(t, time.Now(), e.Timestamp, time.Hour, "case %d", i)
		require.NotEmpty(t, e.EventID)
		if c.format == "rfc5424" {
			require.Equal(t, "LINKDOWN", e.orig["msg_id"])
			require.Equal(t, map[string]any{"site": "lab"}, e.orig["structured_data"].(map[string]any)["origin@32473"])
		}
	}
	// Submit counts once Redis has the events: the test may see them first.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 2, testenv.Metric(c, r.reg, "mutt_ingest_events_by_source_total", map[string]string{"source": "syslog_udp", "status": "accepted"}))
		assert.EqualValues(c, 4, testenv.Metric(c, r.reg, "mutt_ingest_events_by_source_total", map[string]string{"source": "syslog_tcp", "status": "accepted"}))
	}, 10*time.Second, 20*time.Millisecond)
}

func TestMalformedMessagesAreDeadLetteredAndListenersGoOn(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{cfg: syslog.Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", MaxMessageBytes: 512}})
	u, err := net.Dial("udp", r.rcv.UDPAddr().String())
	require.NoError(t, err)
	defer func() { require.NoError(t, u.Close()) }()
	_, err = u.Write([]byte("this is not syslog\xff"))
	require.NoError(t, err)
	_, err = u.Write([]byte("<13>1 - udp-ok app - - - still here"))
	require.NoError(t, err)

	c, err := net.Dial("tcp", r.rcv.TCPAddr().String())
	require.NoError(t, err)
	big := "<13>1 - big app - - - " + strings.Repeat("x", 600)
	_, err = fmt.Fprintf(c, "garbage line\n%d %s<13>1 - tcp-ok app - - - after the big one\n", len(big), big)
	require.NoError(t, err)
	require.NoError(t, c.Close())

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), 2)
		assert.Len(c, r.deadLetters(c), 3)
	}, 10*time.Second, 20*time.Millisecond)
	hosts := []string{}
	for _, e := range r.events(t) {
		hosts = append(hosts, e.Hostname)
	}
	require.ElementsMatch(t, []string{"udp-ok", "tcp-ok"}, hosts)

	reasons := map[string]map[string]any{}
	for _, d := range r.deadLetters(t) {
		reasons[d["listener"].(string)+"/"+d["reason"].(string)] = d
		require.Equal(t, "127.0.0.1", d["source_ip"])
		_, err := time.Parse(time.RFC3339Nano, d["failed_at"].(string))
		require.NoError(t, err)
		require.NotEmpty(t, d["error"])
	}
	require.Equal(t, "this is not syslog\xff", reasons["udp/parse"]["raw"])
	require.Equal(t, "garbage line", reasons["tcp/parse"]["raw"])
	require.Len(t, reasons["tcp/too_large"]["raw"], 512, "the raw bytes are kept up to the limit")
	require.Contains(t, reasons["tcp/too_large"]["error"], "MUTT_SYSLOG_MAX_MESSAGE_BYTES")
	require.EqualValues(t, 1, testenv.Metric(t, r.reg, "mutt_syslog_malformed_total", map[string]string{"listener": "udp", "reason": "parse"}))
	require.EqualValues(t, 1, testenv.Metric(t, r.reg, "mutt_syslog_malformed_total", map[string]string{"listener": "tcp", "reason": "too_large"}))
}

func TestAllowedSources(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{cfg: syslog.Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0",
		AllowedSources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}})
	logger(t, "-n", "127.0.0.1", "--udp", "-P", port(r.rcv.UDPAddr()), "refused over udp")
	c, err := net.Dial("tcp", r.rcv.TCPAddr().String())
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the connection is closed at once")
	require.NoError(t, c.Close())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 1, testenv.Metric(c, r.reg, "mutt_syslog_dropped_total", map[string]string{"listener": "udp", "reason": "not_allowed"}))
		assert.EqualValues(c, 1, testenv.Metric(c, r.reg, "mutt_syslog_connections_refused_total", map[string]string{"listener": "tcp", "reason": "not_allowed"}))
	}, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, r.events(t))
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mutt-syslog-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	r := newRig(t, rigOpts{cfg: syslog.Config{TLSAddr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile}})

	c, err := tls.Dial("tcp", r.rcv.TLSAddr().String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	for i := range 3 {
		msg := fmt.Sprintf("<10>1 2026-01-02T03:04:05Z fw1 pf - - - blocked %d", i)
		_, err = fmt.Fprintf(c, "%d %s", len(msg), msg) // RFC 5425: octet counting
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), 3)
	}, 10*time.Second, 20*time.Millisecond)
	for _, e := range r.events(t) {
		require.Equal(t, "syslog_tls", e.Source)
		require.Equal(t, "fw1", e.Hostname)
	}

	// A client that does not trust the certificate gets nothing through.
	_, err = tls.Dial("tcp", r.rcv.TLSAddr().String(), &tls.Config{MinVersion: tls.VersionTLS12})
	require.Error(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 1, testenv.Metric(c, r.reg, "mutt_syslog_connections_refused_total", map[string]string{"listener": "tls", "reason": "tls"}))
	}, 10*time.Second, 20*time.Millisecond)
}

func TestTLSNeedsCertificate(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	_, err := syslog.New(syslog.Options{Config: syslog.Config{TLSAddr: "127.0.0.1:0", TLSCertFile: "/nonexistent.pem", TLSKeyFile: "/nonexistent.key"},
		Submit: nopSubmit{}, Redis: rdb, Keys: keys, Registerer: prometheus.NewRegistry()})
	require.ErrorContains(t, err, "MUTT_SYSLOG_TLS_CERT_FILE")
}

type nopSubmit struct{}

func (nopSubmit) Submit(context.Context, string, []event.Envelope) ([]string, error) { return nil, nil }

// TestTCPBackpressureLosesNothing cuts the ingestor's Redis while a sender
// writes over TCP: the listener stops reading and retries, and once Redis
// is back every message is queued exactly once.
func TestTCPBackpressureLosesNothing(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testenv.RedisURL())
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, opts.Addr)
	opts.Addr, opts.MaxRetries, opts.DialTimeout, opts.ReadTimeout = proxy.Addr(), -1, time.Second, time.Second
	ir := redis.NewClient(opts)
	t.Cleanup(func() { _ = ir.Close() })
	r := newRig(t, rigOpts{ingestR: ir, cfg: syslog.Config{TCPAddr: "127.0.0.1:0", BatchSize: 50}})

	proxy.Cut()
	const n = 3000
	c, err := net.Dial("tcp", r.rcv.TCPAddr().String())
	require.NoError(t, err)
	sent := make(chan error, 1)
	go func() {
		w := make([]byte, 0, 128*n)
		for i := range n {
			w = fmt.Appendf(w, "<14>Jan  2 03:04:05 host%d app: message %d\n", i%7, i)
		}
		_, err := c.Write(w)
		sent <- err
	}()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Positive(c, testenv.Metric(c, r.reg, "mutt_syslog_submit_retries_total", map[string]string{"listener": "tcp", "reason": "redis"}))
	}, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, r.events(t))

	proxy.Restore()
	require.NoError(t, <-sent)
	require.NoError(t, c.Close())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), n)
	}, 30*time.Second, 50*time.Millisecond)
	seen := map[string]bool{}
	for _, e := range r.events(t) {
		require.False(t, seen[e.Message], "duplicate %s", e.Message)
		seen[e.Message] = true
	}
	for i := range n {
		require.True(t, seen["message "+strconv.Itoa(i)], "message %d", i)
	}
	require.Zero(t, testenv.Metric(t, r.reg, "mutt_syslog_dropped_total", map[string]string{"listener": "tcp"}))
}

// TestTCPWaitsForTheRateLimit: the global ingest rate limit makes TCP wait,
// never drop.
func TestTCPWaitsForTheRateLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{runDyn: true, cfg: syslog.Config{TCPAddr: "127.0.0.1:0", BatchSize: 10}})
	require.NoError(t, dynconfig.Set(context.Background(), r.rdb, r.keys, "ingest_max_rate", "100"))
	require.NoError(t, dynconfig.Set(context.Background(), r.rdb, r.keys, "ingest_rate_window", "1"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 100, r.dyn.Int(dynconfig.IngestMaxRate))
		assert.EqualValues(c, 1, r.dyn.Duration(dynconfig.IngestRateWindow).Seconds())
	}, 5*time.Second, 10*time.Millisecond)
	c, err := net.Dial("tcp", r.rcv.TCPAddr().String())
	require.NoError(t, err)
	const n = 300
	for i := range n {
		_, err := fmt.Fprintf(c, "<14>1 - h app - - - m%d\n", i)
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), n)
	}, 30*time.Second, 50*time.Millisecond)
	require.Positive(t, testenv.Metric(t, r.reg, "mutt_syslog_submit_retries_total", map[string]string{"listener": "tcp", "reason": "rate_limited"}))
}

// fakeDNS answers reverse lookups from a map and counts them.
type fakeDNS struct {
	names map[string]string
	calls chan string
}

func (f fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	f.calls <- addr
	if n, ok := f.names[addr]; ok {
		return []string{n}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

// TestReverseDNSNamesHostlessSenders: a Cisco message without hostname gets
// the sender's reverse-DNS name, looked up once and then cached.
func TestReverseDNSNamesHostlessSenders(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	reg := prometheus.NewRegistry()
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{APIKeys: []string{"k"}}, Redis: rdb, Keys: keys, Dyn: dyn, Log: quiet, Registerer: reg})
	require.NoError(t, err)
	dns := fakeDNS{names: map[string]string{"127.0.0.1": "rtr9.example.com."}, calls: make(chan string, 10)}
	rcv, err := syslog.New(syslog.Options{Config: syslog.Config{UDPAddr: "127.0.0.1:0", ReverseDNS: true},
		Submit: srv, Redis: rdb, Keys: keys, Log: quiet, Registerer: reg, Resolver: dns})
	require.NoError(t, err)
	require.NoError(t, rcv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rcv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	r := &rig{rdb: rdb, keys: keys, reg: reg, rcv: rcv}

	u, err := net.Dial("udp", rcv.UDPAddr().String())
	require.NoError(t, err)
	defer func() { require.NoError(t, u.Close()) }()
	for i := range 3 {
		_, err = fmt.Fprintf(u, "<189>%d: *Apr 11 10:02:08.123: %%LINEPROTO-5-UPDOWN: Line protocol on Interface Gi0/%d, changed state to up", 100+i, i)
		require.NoError(t, err)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Len(c, r.events(c), 3)
	}, 10*time.Second, 20*time.Millisecond)
	for _, e := range r.events(t) {
		require.Equal(t, "rtr9.example.com", e.Hostname)
		require.Equal(t, "reverse_dns", e.orig["hostname_from"])
		require.Equal(t, "127.0.0.1", e.orig["source_ip"])
	}
	require.Len(t, dns.calls, 1, "cached after the first lookup")
}

// TestUDPSourceRateDropsAndCounts: over MUTT_SYSLOG_SOURCE_RATE, UDP drops
// and counts (it cannot make the sender wait).
func TestUDPSourceRateDropsAndCounts(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{cfg: syslog.Config{UDPAddr: "127.0.0.1:0", SourceRate: 1}})
	u, err := net.Dial("udp", r.rcv.UDPAddr().String())
	require.NoError(t, err)
	defer func() { require.NoError(t, u.Close()) }()
	const n = 5
	for i := range n {
		_, err = fmt.Fprintf(u, "<13>1 - h app - - - m%d", i)
		require.NoError(t, err)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		dropped := testenv.Metric(c, r.reg, "mutt_syslog_dropped_total", map[string]string{"listener": "udp", "reason": "rate_limited"})
		assert.Positive(c, dropped)
		assert.EqualValues(c, n, int(dropped)+len(r.events(c)), "every datagram is queued or counted")
	}, 10*time.Second, 20*time.Millisecond)
}
