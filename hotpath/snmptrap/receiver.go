package snmptrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/event"
)

// Source is the envelope source and metric label of SNMP traps.
const Source = event.SourceSNMP

// Submitter queues events durably (the ingestor's producer): it returns
// only once they are in Redis, or with the reason they were refused.
type Submitter interface {
	Submit(ctx context.Context, source string, envs []event.Envelope) ([]string, error)
}

// Resolver finds names of addresses (net.Resolver in production).
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Options build a Receiver.
type Options struct {
	Config Config
	Submit Submitter
	// Redis and DLQ are where undecodable or refused packets are kept
	// (keyspace.Keys.SNMPDLQ).
	Redis      redis.Cmdable
	DLQ        string
	Log        *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Resolver   Resolver // net.DefaultResolver when nil and Config.ReverseDNS is set
}

// Receiver listens for traps on UDP.
type Receiver struct {
	cfg     Config
	comms   *apikey.Set[struct{}] // allowed communities but "*"
	anyComm bool                  // "*" is allowed
	sub     Submitter
	rdb     redis.Cmdable
	dlq     string
	log     *slog.Logger
	now     func() time.Time
	m       *metrics
	dns     *dnsCache
	params  *gosnmp.GoSNMP
	engine  string
	started time.Time
	allowV3 bool

	mu       sync.Mutex
	conn     *net.UDPConn
	limiters map[netip.Addr]*rate.Limiter

	unknownEngine atomic.Uint32 // usmStatsUnknownEngineIDs
}

// Packet outcomes (label outcome of mutt_snmp_packets_total).
const (
	outAccepted      = "accepted"
	outRateLimited   = "rate_limited"
	outMalformed     = "malformed"
	outCommunity     = "community"
	outV3Rejected    = "v3_rejected"
	outNotTrap       = "not_trap"
	outRefused       = "refused"
	outDiscovery     = "discovery"
	outUnknownEngine = "unknown_engine"
)

var outcomes = []string{outAccepted, outRateLimited, outMalformed, outCommunity, outV3Rejected, outNotTrap,
	outRefused, outDiscovery, outUnknownEngine}

// New checks the options and builds a Receiver (it does not bind yet).
func New(o Options) (*Receiver, error) {
	switch {
	case o.Config.Addr == "":
		return nil, errors.New("snmptrap: MUTT_SNMP_ADDR is empty")
	case o.Submit == nil:
		return nil, errors.New("snmptrap: Options.Submit is required")
	case o.Redis == nil || o.DLQ == "":
		return nil, errors.New("snmptrap: Options.Redis and Options.DLQ are required")
	case o.Registerer == nil:
		return nil, errors.New("snmptrap: Options.Registerer is required")
	}
	cfg := o.Config
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Rate <= 0 {
		cfg.Rate, cfg.Burst = DefaultRate, DefaultBurst
	}
	if cfg.Burst < 1 {
		cfg.Burst = cfg.Rate
	}
	if cfg.DLQMaxLen <= 0 {
		cfg.DLQMaxLen = DefaultDLQMaxLen
	}
	if cfg.DNSCacheTTL <= 0 {
		cfg.DNSCacheTTL = DefaultDNSCacheTTL
	}
	if cfg.EngineID == "" {
		cfg.EngineID = defaultEngineID()
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Receiver{cfg: cfg, sub: o.Submit, rdb: o.Redis, dlq: o.DLQ, log: o.Log, now: o.Now, m: m,
		engine: cfg.EngineID, limiters: map[netip.Addr]*rate.Limiter{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.started = r.now()
	var comms []apikey.Key[struct{}]
	for _, c := range cfg.Communities {
		if c == "*" {
			r.anyComm = true
			continue
		}
		comms = append(comms, apikey.Key[struct{}]{Value: c})
	}
	r.comms = apikey.NewSet(comms)
	if cfg.ReverseDNS {
		res := o.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		r.dns = &dnsCache{res: res, ttl: cfg.DNSCacheTTL, now: r.now, m: map[string]dnsEntry{}}
	}
	if r.params, err = newParams(cfg.Users); err != nil {
		return nil, err
	}
	r.allowV3 = len(cfg.Users) > 0
	return r, nil
}

// newParams is the decoder: v3 messages are authenticated and decrypted with
// the user named in the message, keys localised to the message's engine ID.
func newParams(users []User) (*gosnmp.GoSNMP, error) {
	table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.NewLogger(nil))
	// The empty user name: engine-ID discovery probes (RFC 3414 §4), which
	// are unauthenticated by design. Anything else sent without a user is
	// refused after decoding.
	if err := table.Add("", &gosnmp.UsmSecurityParameters{AuthenticationProtocol: gosnmp.NoAuth,
		PrivacyProtocol: gosnmp.NoPriv}); err != nil {
		return nil, fmt.Errorf("snmptrap: %w", err)
	}
	for _, u := range users {
		sp := &gosnmp.UsmSecurityParameters{UserName: u.Name, AuthenticationProtocol: u.authProt,
			AuthenticationPassphrase: u.AuthKey, PrivacyProtocol: u.privProt, PrivacyPassphrase: u.PrivKey}
		if sp.AuthenticationProtocol == 0 {
			sp.AuthenticationProtocol = gosnmp.NoAuth
		}
		if sp.PrivacyProtocol == 0 {
			sp.PrivacyProtocol = gosnmp.NoPriv
		}
		if err := table.Add(u.Name, sp); err != nil {
			return nil, fmt.Errorf("MUTT_SNMP_V3_USERS: user %q: %w", u.Name, err)
		}
	}
	p := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		Logger: gosnmp.NewLogger(nil)}
	p.SetTrapSecurityParametersTable(table)
	return p, nil
}

// Listen binds the UDP socket (Run binds it when Listen was not called).
func (r *Receiver) Listen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		return nil
	}
	addr, err := net.ResolveUDPAddr("udp", r.cfg.Addr)
	if err != nil {
		return fmt.Errorf("MUTT_SNMP_ADDR: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("snmp trap listener on %s: %w (ports below 1024 need CAP_NET_BIND_SERVICE: docs/runbooks)", r.cfg.Addr, err)
	}
	if r.cfg.ReadBuffer > 0 {
		if err := conn.SetReadBuffer(r.cfg.ReadBuffer); err != nil {
			r.log.Warn("snmp: cannot set the socket receive buffer", "bytes", r.cfg.ReadBuffer, "err", err)
		}
	}
	r.conn = conn
	return nil
}

// Addr is the bound address (nil before Listen).
func (r *Receiver) Addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	return r.conn.LocalAddr()
}

// packet is one datagram as read.
type packet struct {
	data []byte
	from netip.AddrPort
	at   time.Time
}

// Run receives until ctx ends, then lets the workers finish what they hold.
func (r *Receiver) Run(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	r.log.Info("snmp trap receiver listening", "addr", r.conn.LocalAddr().String(),
		"communities", len(r.cfg.Communities), "v3_users", len(r.cfg.Users))
	queue := make(chan packet, r.cfg.Workers*16)
	subq := make(chan pending, maxBatch*2)
	// Neither stage stops with ctx: what was read is decoded and submitted
	// (SIGTERM drains), only the socket closes.
	bctx := context.WithoutCancel(ctx)
	var subs errgroup.Group
	for range submitters {
		subs.Go(func() error {
			r.submitLoop(bctx, subq)
			return nil
		})
	}
	var g errgroup.Group
	for range r.cfg.Workers {
		g.Go(func() error {
			for p := range queue {
				r.handleSafely(bctx, p, subq)
			}
			return nil
		})
	}
	stop := context.AfterFunc(ctx, func() { _ = r.conn.Close() })
	defer stop()
	g.Go(func() error {
		defer close(queue)
		buf := make([]byte, 65535)
		for {
			n, from, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return nil
				}
				r.log.Warn("snmp: read", "err", err)
				continue
			}
			queue <- packet{data: append([]byte(nil), buf[:n]...), from: from, at: r.now()}
		}
	})
	go r.pruneLimiters(ctx)
	err := g.Wait()
	close(subq)
	_ = subs.Wait()
	return err
}

// Submission batching: the traps decoded while a Submit is in flight go
// together in the next one (up to maxBatch), so a burst costs one rate-limit
// check and one stream append per batch instead of per trap.
const (
	maxBatch   = 256
	submitters = 2
)

// pending is a decoded trap waiting for Submit.
type pending struct {
	env    event.Envelope
	p      packet
	pkt    *gosnmp.SnmpPacket
	inform bool
	trap   Trap
}

// submitLoop takes what is queued (waiting only for the first), submits it
// in one call and settles each trap.
func (r *Receiver) submitLoop(ctx context.Context, subq <-chan pending) {
	batch := make([]pending, 0, maxBatch)
	for first := range subq {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case x, ok := <-subq:
				if !ok {
					break drain
				}
				batch = append(batch, x)
			default:
				break drain
			}
		}
		r.settle(ctx, batch)
	}
}

// settle submits a batch. INFORMs are acknowledged on success and left
// unacknowledged on a refusal (their senders retransmit, so nothing is
// retried or dead-lettered for them); traps, whose senders never
// retransmit, are retried for SubmitRetry, then dead-lettered.
func (r *Receiver) settle(ctx context.Context, batch []pending) {
	err := r.submit(ctx, batch)
	if err == nil {
		for i := range batch {
			r.accepted(batch[i])
		}
		return
	}
	var traps []pending
	for _, x := range batch {
		if x.inform {
			r.m.packets.WithLabelValues(outRefused).Inc()
			r.log.Warn("snmp: inform not acknowledged: the event could not be queued (the sender retries)",
				"source_ip", x.trap.SourceIP, "err", err)
			continue
		}
		traps = append(traps, x)
	}
	if len(traps) == 0 {
		return
	}
	deadline := r.now().Add(r.cfg.SubmitRetry)
	wait := 50 * time.Millisecond
	for r.now().Add(wait).Before(deadline) {
		time.Sleep(wait)
		if err = r.submit(ctx, traps); err == nil {
			for i := range traps {
				r.accepted(traps[i])
			}
			return
		}
		wait = min(2*wait, time.Second)
	}
	for _, x := range traps {
		r.reject(ctx, x.p, outRefused, err)
	}
}

// submit hands the batch's envelopes to the producer in one call.
func (r *Receiver) submit(ctx context.Context, batch []pending) error {
	envs := make([]event.Envelope, len(batch))
	for i := range batch {
		envs[i] = batch[i].env
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := r.sub.Submit(sctx, Source, envs)
	return err
}

// accepted counts a queued trap and acknowledges it when it is an INFORM.
func (r *Receiver) accepted(x pending) {
	r.m.packets.WithLabelValues(outAccepted).Inc()
	r.m.traps.WithLabelValues(x.trap.Version, x.trap.PDU).Inc()
	if !x.inform {
		return
	}
	if err := r.acknowledge(x.pkt, x.p.from); err != nil {
		r.log.Warn("snmp: acknowledge inform", "source_ip", x.trap.SourceIP, "err", err)
		return
	}
	r.m.acks.Inc()
}

// handleSafely is handle that survives a panic on some datagram (counted as
// malformed, logged with the sender), so one packet never stops a worker.
func (r *Receiver) handleSafely(ctx context.Context, p packet, subq chan<- pending) {
	defer func() {
		if x := recover(); x != nil {
			r.m.packets.WithLabelValues(outMalformed).Inc()
			r.log.Error("snmp: packet handling panicked", "source_ip", p.from.Addr().Unmap().String(), "panic", x)
		}
	}()
	r.handle(ctx, p, subq)
}

// decode runs gosnmp's decoder on a copy of b (it blanks the MAC of v3
// messages in place, and b is kept for the dead-letter stream), turning a
// panic into an error: gosnmp v1.47.0 dereferences nil on a v3 message whose
// header is not a SEQUENCE (TestDecodeSurvivesGosnmpPanics).
func decode(params *gosnmp.GoSNMP, b []byte) (p *gosnmp.SnmpPacket, err error) {
	defer func() {
		if x := recover(); x != nil {
			p, err = nil, fmt.Errorf("undecodable message (the decoder failed: %v)", x)
		}
	}()
	return params.UnmarshalTrap(append([]byte(nil), b...), true)
}

// handle processes one datagram; it never panics on its content (FuzzPacketToEvent).
func (r *Receiver) handle(ctx context.Context, p packet, subq chan<- pending) {
	src := p.from.Addr().Unmap()
	if !r.limiter(src).Allow() {
		r.m.packets.WithLabelValues(outRateLimited).Inc()
		return
	}
	pkt, err := decode(r.params, p.data)
	if err != nil {
		reason := outMalformed
		if v, ok := peekVersion(p.data); ok && v == gosnmp.Version3 {
			reason = outV3Rejected // unknown user, wrong digest or key, or undecodable
		}
		r.reject(ctx, p, reason, err)
		return
	}
	switch pkt.Version {
	case gosnmp.Version1, gosnmp.Version2c:
		if !r.communityAllowed(pkt.Community) {
			r.reject(ctx, p, outCommunity, errors.New("community not in MUTT_SNMP_COMMUNITIES"))
			return
		}
	case gosnmp.Version3:
		usm, _ := pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		switch {
		case !r.allowV3:
			r.reject(ctx, p, outV3Rejected, errors.New("SNMPv3 is off: MUTT_SNMP_V3_USERS is empty"))
			return
		case usm == nil:
			r.reject(ctx, p, outV3Rejected, errors.New("not a USM message"))
			return
		case isDiscovery(pkt, usm):
			r.m.packets.WithLabelValues(outDiscovery).Inc()
			r.report(pkt, p.from, false)
			return
		case usm.UserName == "":
			r.reject(ctx, p, outV3Rejected, errors.New("no user name"))
			return
		case pkt.PDUType == gosnmp.InformRequest && usm.AuthoritativeEngineID != r.engine:
			// The receiver of an INFORM is authoritative (RFC 3412 §6.4):
			// tell the sender our engine ID, as for a discovery probe.
			r.m.packets.WithLabelValues(outUnknownEngine).Inc()
			r.report(pkt, p.from, true)
			return
		}
	}
	trap, err := Convert(pkt, p.from, p.at)
	if err != nil {
		reason := outMalformed
		if errors.Is(err, errNotTrap) {
			reason = outNotTrap
		}
		r.reject(ctx, p, reason, err)
		return
	}
	env, err := trap.Envelope(r.hostname(ctx, trap))
	if err != nil {
		r.reject(ctx, p, outMalformed, err)
		return
	}
	subq <- pending{env: env, p: p, pkt: pkt, inform: pkt.PDUType == gosnmp.InformRequest, trap: trap}
}

// peekVersion reads msgVersion from the start of a message (SEQUENCE,
// then INTEGER), to tell a v3 message that failed authentication from
// bytes that are not SNMP at all.
func peekVersion(b []byte) (gosnmp.SnmpVersion, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	if b[1]&0x80 != 0 {
		i += int(b[1] & 0x7f)
	}
	if len(b) < i+3 || b[i] != 0x02 || b[i+1] != 0x01 {
		return 0, false
	}
	return gosnmp.SnmpVersion(b[i+2]), true
}

// isDiscovery is an RFC 3414 §4 engine-ID discovery probe: reportable,
// noAuthNoPriv, no user, no engine ID, an empty Get.
func isDiscovery(pkt *gosnmp.SnmpPacket, usm *gosnmp.UsmSecurityParameters) bool {
	return pkt.MsgFlags&gosnmp.Reportable != 0 && pkt.MsgFlags&gosnmp.AuthPriv == gosnmp.NoAuthNoPriv &&
		usm.UserName == "" && usm.AuthoritativeEngineID == "" && pkt.PDUType == gosnmp.GetRequest
}

// engineTime is snmpEngineBoots (1: not persisted) and snmpEngineTime.
func (r *Receiver) engineTime() (uint32, uint32) {
	secs := r.now().Sub(r.started) / time.Second
	return 1, uint32(max(0, min(secs, 2147483647))) //nolint:gosec // clamped
}

// report answers a discovery probe, or an INFORM for another engine, with
// this engine's ID, boots and time and usmStatsUnknownEngineIDs.
func (r *Receiver) report(req *gosnmp.SnmpPacket, to netip.AddrPort, unknown bool) {
	n := r.unknownEngine.Load()
	if unknown || n == 0 {
		n = r.unknownEngine.Add(1)
	}
	boots, t := r.engineTime()
	resp := &gosnmp.SnmpPacket{
		Version: gosnmp.Version3, MsgFlags: gosnmp.NoAuthNoPriv, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: r.engine,
			AuthoritativeEngineBoots: boots, AuthoritativeEngineTime: t,
			AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv},
		ContextEngineID: r.engine, PDUType: gosnmp.Report, MsgID: req.MsgID, RequestID: req.RequestID,
		MsgMaxSize: 65507,
		Variables:  []gosnmp.SnmpPDU{{Name: ".1.3.6.1.6.3.15.1.1.4.0", Type: gosnmp.Counter32, Value: uint(n)}},
	}
	if err := r.send(resp, to); err != nil {
		r.log.Warn("snmp: engine-ID report", "source_ip", to.Addr().Unmap().String(), "err", err)
	}
}

// acknowledge sends the Response-PDU of an INFORM: the same request id and
// varbinds, noError (RFC 3416 §4.2.7), under the same user and security level.
func (r *Receiver) acknowledge(req *gosnmp.SnmpPacket, to netip.AddrPort) error {
	resp := *req
	resp.PDUType = gosnmp.GetResponse
	resp.Error, resp.ErrorIndex = gosnmp.NoError, 0
	resp.Logger = gosnmp.NewLogger(nil)
	if req.Version == gosnmp.Version3 {
		usm, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		if !ok {
			return errors.New("inform without USM parameters")
		}
		sp, _ := usm.Copy().(*gosnmp.UsmSecurityParameters)
		sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = r.engineTime()
		resp.SecurityParameters = sp
		resp.MsgFlags = req.MsgFlags &^ gosnmp.Reportable
		if err := sp.InitPacket(&resp); err != nil { // a fresh privacy salt
			return err
		}
	}
	return r.send(&resp, to)
}

func (r *Receiver) send(p *gosnmp.SnmpPacket, to netip.AddrPort) error {
	b, err := p.MarshalMsg()
	if err != nil {
		return fmt.Errorf("encode %s: %w", p.PDUType, err)
	}
	_, err = r.conn.WriteToUDPAddrPort(b, to)
	return err
}

// communityAllowed compares c in constant time with every allowed community
// (apikey.Set, the one key matcher of MUTT's listeners).
func (r *Receiver) communityAllowed(c string) bool {
	if r.anyComm {
		return true
	}
	_, ok := r.comms.Match(c)
	return ok
}

// reject counts a packet and keeps it in the dead-letter stream with the
// reason and its bytes (capped at DLQMaxLen entries, oldest dropped).
func (r *Receiver) reject(ctx context.Context, p packet, reason string, cause error) {
	r.m.packets.WithLabelValues(reason).Inc()
	src := p.from.Addr().Unmap().String()
	r.log.Debug("snmp: packet rejected", "reason", reason, "source_ip", src, "err", cause)
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := r.rdb.XAdd(dctx, &redis.XAddArgs{Stream: r.dlq, MaxLen: int64(r.cfg.DLQMaxLen), Approx: true,
		Values: []any{"reason", reason, "error", truncate(cause.Error(), 1024), "source_ip", src,
			"receiver", Source, "failed_at", p.at.UTC().Format(time.RFC3339Nano), "raw", p.data}}).Err()
	if err != nil {
		r.m.dlqErrors.Inc()
		r.log.Error("snmp: dead-letter a rejected packet", "reason", reason, "source_ip", src, "err", err)
		return
	}
	r.m.deadLettered.WithLabelValues(reason).Inc()
}

// limiter is the token bucket of one source address.
func (r *Receiver) limiter(a netip.Addr) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.limiters[a]
	if !ok {
		l = rate.NewLimiter(rate.Limit(r.cfg.Rate), r.cfg.Burst)
		r.limiters[a] = l
	}
	return l
}

// pruneLimiters forgets sources whose bucket is full again, so the map
// holds only recently active senders.
func (r *Receiver) pruneLimiters(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		for a, l := range r.limiters {
			if l.Tokens() >= float64(r.cfg.Burst) {
				delete(r.limiters, a)
			}
		}
		r.mu.Unlock()
	}
}

// hostname is sysName.0 when the trap carries it, else the reverse-DNS
// name of the agent (when MUTT_SNMP_REVERSE_DNS is on), else the agent's
// address (v1 agent-addr or snmpTrapAddress.0), else the sender's.
func (r *Receiver) hostname(ctx context.Context, t Trap) string {
	if t.SysName != "" {
		return t.SysName
	}
	addr := t.AgentAddress
	if addr == "" {
		addr = t.SourceIP
	}
	if r.dns != nil {
		if name := r.dns.lookup(ctx, addr); name != "" {
			return name
		}
	}
	return addr
}

// dnsCache remembers reverse lookups, failures included, for ttl.
type dnsCache struct {
	res Resolver
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]dnsEntry
}

type dnsEntry struct {
	name string
	exp  time.Time
}

func (c *dnsCache) lookup(ctx context.Context, addr string) string {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[addr]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.name
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	names, err := c.res.LookupAddr(lctx, addr)
	cancel()
	name := ""
	if err == nil && len(names) > 0 {
		name = truncate(strings.TrimSuffix(names[0], "."), maxHostBytes)
	}
	c.mu.Lock()
	if len(c.m) > 100000 { // a flood of spoofed sources must not grow it without bound
		clear(c.m)
	}
	c.m[addr] = dnsEntry{name: name, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return name
}
