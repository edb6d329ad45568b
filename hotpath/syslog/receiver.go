package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
)

// Submitter queues stamped envelopes: *ingest.Server. A refusal is an
// *ingest.Refused.
type Submitter interface {
	Submit(ctx context.Context, source string, envs []event.Envelope) ([]string, error)
}

// Resolver looks up the names of an address (net.DefaultResolver).
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Options build a Receiver.
type Options struct {
	Config     Config
	Submit     Submitter
	Redis      redis.UniversalClient // dead letters
	Keys       keyspace.Keys
	Log        *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // clock of messages without a timestamp; time.Now
	Resolver   Resolver         // reverse DNS; net.DefaultResolver
}

// drainTimeout bounds how long a stopping listener keeps trying to queue
// the messages it has read.
const drainTimeout = 10 * time.Second

// Retry waits after a refusal: at least minRetry (a refusal without a
// RetryAfter must not spin), at most maxRetry (a long Retry-After must not
// hold a TCP sender longer than needed once the backlog drains).
const (
	minRetry = 50 * time.Millisecond
	maxRetry = 2 * time.Second
)

// Receiver runs the configured syslog listeners.
type Receiver struct {
	cfg   Config
	sub   Submitter
	rdb   redis.UniversalClient
	keys  keyspace.Keys
	log   *slog.Logger
	now   func() time.Time
	m     *metrics
	tlsc  *tls.Config
	names *nameCache
	srcs  *sourceLimits

	udp      *net.UDPConn
	tcp, tls net.Listener
}

// New checks the options, loads the TLS certificate, and builds a Receiver.
func New(o Options) (*Receiver, error) {
	cfg := o.Config.withDefaults()
	switch {
	case o.Submit == nil:
		return nil, errors.New("syslog: Options.Submit is required")
	case o.Redis == nil:
		return nil, errors.New("syslog: Options.Redis is required (dead letters)")
	case o.Keys.Shards < 1 || o.Keys.Prefix == "":
		return nil, errors.New("syslog: Options.Keys must come from keyspace.New")
	case o.Registerer == nil:
		return nil, errors.New("syslog: Options.Registerer is required")
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Receiver{cfg: cfg, sub: o.Submit, rdb: o.Redis, keys: o.Keys, log: o.Log, now: o.Now, m: m}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	res := o.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	r.names = &nameCache{res: res, ttl: cfg.DNSCacheTTL, now: r.now, m: map[netip.Addr]cachedName{}}
	r.srcs = &sourceLimits{rate: cfg.SourceRate, m: map[netip.Addr]*sourceLimit{}}
	if cfg.TLSAddr != "" {
		if r.tlsc, err = loadTLS(cfg); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func loadTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
		return nil, errors.New("syslog: MUTT_SYSLOG_TLS_CERT_FILE and MUTT_SYSLOG_TLS_KEY_FILE are required with MUTT_SYSLOG_TLS_ADDR")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("syslog: MUTT_SYSLOG_TLS_CERT_FILE/MUTT_SYSLOG_TLS_KEY_FILE: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog: MUTT_SYSLOG_TLS_CLIENT_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("syslog: MUTT_SYSLOG_TLS_CLIENT_CA_FILE: no PEM certificate in the file")
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// Listen binds every configured listener. On error nothing stays bound.
func (r *Receiver) Listen() (err error) {
	defer func() {
		if err != nil {
			r.closeListeners()
		}
	}()
	if a := r.cfg.UDPAddr; a != "" {
		ua, err := net.ResolveUDPAddr("udp", a)
		if err != nil {
			return fmt.Errorf("syslog: MUTT_SYSLOG_UDP_ADDR %q: %w", a, err)
		}
		if r.udp, err = net.ListenUDP("udp", ua); err != nil && r.cfg.DevDefault.UDP {
			r.log.Warn("syslog udp not listening: its default port is taken; set MUTT_SYSLOG_UDP_ADDR", "addr", a, "err", err)
			r.cfg.UDPAddr, r.udp = "", nil
		} else if err != nil {
			return fmt.Errorf("syslog: listen udp %s: %w", a, err)
		}
	}
	if a := r.cfg.UDPAddr; a != "" {
		if n := r.cfg.UDPReceiveBuffer; n > 0 {
			if err := r.udp.SetReadBuffer(n); err != nil {
				return fmt.Errorf("syslog: MUTT_SYSLOG_UDP_RECEIVE_BUFFER %d: %w", n, err)
			}
		}
		if err := enableDropCount(r.udp); err != nil {
			r.log.Warn("kernel drop counter unavailable (SO_RXQ_OVFL)", "err", err)
		}
		r.m.touch(listenerUDP)
	}
	if a := r.cfg.TCPAddr; a != "" {
		if r.tcp, err = net.Listen("tcp", a); err != nil && r.cfg.DevDefault.TCP {
			r.log.Warn("syslog tcp not listening: its default port is taken; set MUTT_SYSLOG_TCP_ADDR", "addr", a, "err", err)
			r.cfg.TCPAddr, r.tcp, err = "", nil, nil
		} else if err != nil {
			return fmt.Errorf("syslog: listen tcp %s: %w", a, err)
		} else {
			r.m.touch(listenerTCP)
		}
	}
	if a := r.cfg.TLSAddr; a != "" {
		if r.tls, err = net.Listen("tcp", a); err != nil {
			return fmt.Errorf("syslog: listen tls %s: %w", a, err)
		}
		r.m.touch(listenerTLS)
	}
	return nil
}

func (r *Receiver) closeListeners() {
	if r.udp != nil {
		_ = r.udp.Close()
	}
	for _, l := range []net.Listener{r.tcp, r.tls} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// UDPAddr, TCPAddr and TLSAddr are the bound addresses (after Listen), nil
// for a listener that is off.
func (r *Receiver) UDPAddr() net.Addr {
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

func (r *Receiver) TCPAddr() net.Addr { return listenerAddr(r.tcp) }
func (r *Receiver) TLSAddr() net.Addr { return listenerAddr(r.tls) }

func listenerAddr(l net.Listener) net.Addr {
	if l == nil {
		return nil
	}
	return l.Addr()
}

// Run binds the listeners and serves them until ctx ends.
func (r *Receiver) Run(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	return r.Serve(ctx)
}

// Serve serves the listeners Listen bound until ctx ends, then closes them,
// stops reading and spends up to drainTimeout queueing what was read.
func (r *Receiver) Serve(ctx context.Context) error {
	defer r.closeListeners()
	g, gctx := errgroup.WithContext(ctx)
	// Batches outlive ctx by drainTimeout, so what was read is queued.
	drain, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopDrain := context.AfterFunc(gctx, func() { time.AfterFunc(drainTimeout, cancelDrain) })
	defer stopDrain()

	if r.udp != nil {
		b := r.newBatcher(listenerUDP, event.SourceSyslogUDP)
		g.Go(func() error { return b.run(drain) })
		g.Go(func() error { defer b.close(); return r.serveUDP(gctx, b) })
	}
	for _, l := range []struct {
		ln       net.Listener
		listener string
		source   string
	}{{r.tcp, listenerTCP, event.SourceSyslogTCP}, {r.tls, listenerTLS, event.SourceSyslogTLS}} {
		if l.ln == nil {
			continue
		}
		b := r.newBatcher(l.listener, l.source)
		g.Go(func() error { return b.run(drain) })
		g.Go(func() error { defer b.close(); return r.serveStream(gctx, l.ln, l.listener, b) })
	}
	g.Go(func() error { r.srcs.sweep(gctx); return nil })
	r.log.Info("syslog listening", "udp", r.cfg.UDPAddr, "tcp", r.cfg.TCPAddr, "tls", r.cfg.TLSAddr)
	return g.Wait()
}

// allowed tells whether a sender may send.
func (r *Receiver) allowed(a netip.Addr) bool {
	if len(r.cfg.AllowedSources) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range r.cfg.AllowedSources {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// serveUDP reads datagrams until ctx ends. It never blocks on the ingest
// path: what the batcher cannot take is dropped and counted.
func (r *Receiver) serveUDP(ctx context.Context, b *batcher) error {
	stop := context.AfterFunc(ctx, func() { _ = r.udp.Close() })
	defer stop()
	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	p := newParser(r.cfg.TimeZone)
	var lastDrops uint32
	seenDrops := false
	for {
		n, oobn, _, from, err := r.udp.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			r.log.Warn("read udp", "err", err)
			continue
		}
		if d, ok := dropCount(oob[:oobn]); ok {
			if seenDrops && d > lastDrops {
				r.m.kernelDrops.Add(float64(d - lastDrops))
			} else if !seenDrops && d > 0 {
				r.m.kernelDrops.Add(float64(d))
			}
			lastDrops, seenDrops = d, true
		}
		src := from.Addr().Unmap()
		r.m.messages.WithLabelValues(listenerUDP).Inc()
		r.m.bytes.WithLabelValues(listenerUDP).Add(float64(n))
		if !r.allowed(src) {
			r.m.dropped.WithLabelValues(listenerUDP, "not_allowed").Inc()
			continue
		}
		if !r.srcs.allow(src) {
			r.m.dropped.WithLabelValues(listenerUDP, "rate_limited").Inc()
			continue
		}
		raw := buf[:n]
		if n > r.cfg.MaxMessageBytes {
			r.deadLetter(ctx, listenerUDP, "too_large",
				fmt.Errorf("message of %d bytes is larger than the limit of %d (MUTT_SYSLOG_MAX_MESSAGE_BYTES)", n, r.cfg.MaxMessageBytes),
				raw[:r.cfg.MaxMessageBytes], src)
			continue
		}
		env, ok := r.envelope(ctx, p, listenerUDP, raw, src)
		if !ok {
			continue
		}
		if !b.offer(env) {
			r.m.dropped.WithLabelValues(listenerUDP, "queue_full").Inc()
		}
	}
}

// serveStream accepts TCP (or TLS) connections until ctx ends.
func (r *Receiver) serveStream(ctx context.Context, ln net.Listener, listener string, b *batcher) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	var open atomic.Int64
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			r.log.Warn("accept", "listener", listener, "err", err)
			select { // e.g. out of file descriptors: do not spin
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		src := addrOf(c.RemoteAddr())
		if !r.allowed(src) {
			r.m.refused.WithLabelValues(listener, "not_allowed").Inc()
			_ = c.Close()
			continue
		}
		if open.Load() >= int64(r.cfg.MaxConns) {
			r.m.refused.WithLabelValues(listener, "too_many").Inc()
			_ = c.Close()
			continue
		}
		open.Add(1)
		r.m.conns.WithLabelValues(listener).Inc()
		wg.Go(func() {
			defer func() {
				open.Add(-1)
				r.m.conns.WithLabelValues(listener).Dec()
			}()
			r.serveConn(ctx, c, listener, src, b)
		})
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// serveConn reads one connection until it ends. Limits and a refusing
// ingest path make it wait, not drop: while it waits it does not read, the
// kernel's buffers fill and TCP flow control slows the sender.
func (r *Receiver) serveConn(ctx context.Context, c net.Conn, listener string, src netip.Addr, b *batcher) {
	defer func() { _ = c.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if r.tlsc != nil && listener == listenerTLS {
		tc := tls.Server(c, r.tlsc)
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			r.m.refused.WithLabelValues(listener, "tls").Inc()
			r.log.Info("tls handshake failed", "source_ip", src.String(), "err", err)
			return
		}
		c = tc
	}
	var connLim *rate.Limiter
	if r.cfg.ConnRate > 0 {
		connLim = rate.NewLimiter(rate.Limit(r.cfg.ConnRate), max(1, int(r.cfg.ConnRate)))
	}
	fr := newFrameReader(c, r.cfg.MaxMessageBytes)
	p := newParser(r.cfg.TimeZone)
	for {
		raw, err := fr.next()
		if err != nil {
			var fe *frameError
			if errors.As(err, &fe) {
				r.m.messages.WithLabelValues(listener).Inc()
				r.deadLetter(ctx, listener, fe.reason, fe.err, fe.raw, src)
				if fe.fatal {
					return
				}
				continue
			}
			if ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.log.Debug("syslog connection ended", "listener", listener, "source_ip", src.String(), "err", err)
			}
			return
		}
		r.m.messages.WithLabelValues(listener).Inc()
		r.m.bytes.WithLabelValues(listener).Add(float64(len(raw)))
		env, ok := r.envelope(ctx, p, listener, raw, src)
		if !ok {
			continue
		}
		if connLim != nil && connLim.Wait(ctx) != nil {
			return
		}
		if r.srcs.wait(ctx, src) != nil {
			return
		}
		if !b.put(ctx, env) {
			return
		}
	}
}

// envelope parses raw; a malformed message goes to the dead-letter stream
// and ok is false.
func (r *Receiver) envelope(ctx context.Context, p *parser, listener string, raw []byte, src netip.Addr) (event.Envelope, bool) {
	now := r.now()
	pm, err := p.parse(raw, src, now)
	if err != nil {
		r.deadLetter(ctx, listener, "parse", err, raw, src)
		return event.Envelope{}, false
	}
	host, from := src.String(), "source_ip"
	if pm.f.Hostname == "" && r.cfg.ReverseDNS {
		if name := r.names.lookup(ctx, src); name != "" {
			host, from = name, "reverse_dns"
		}
	}
	env, err := pm.envelope(host, from)
	if err != nil {
		r.deadLetter(ctx, listener, "parse", err, raw, src)
		return event.Envelope{}, false
	}
	return env, true
}

// deadLetter keeps a message that cannot become an event, with why.
func (r *Receiver) deadLetter(ctx context.Context, listener, reason string, cause error, raw []byte, src netip.Addr) {
	r.m.malformed.WithLabelValues(listener, reason).Inc()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := r.rdb.XAdd(dctx, &redis.XAddArgs{
		Stream: r.keys.SyslogDLQ(), MaxLen: r.cfg.DLQMaxLen, Approx: true,
		Values: []any{
			"reason", reason, "error", cause.Error(), "raw", raw, "source_ip", src.String(),
			"listener", listener, "failed_at", r.now().UTC().Format(time.RFC3339Nano),
		},
	}).Err()
	if err != nil {
		r.m.dlqFailed.Inc()
		r.log.Warn("dead letter not stored", "listener", listener, "reason", reason, "source_ip", src.String(), "err", err)
		return
	}
	r.log.Debug("malformed syslog message", "listener", listener, "reason", reason, "source_ip", src.String(), "err", cause)
}
