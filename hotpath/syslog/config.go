package syslog

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/mutt-ops/mutt/internal/config"
)

// Defaults of Config.
const (
	DevPort                = "5514"
	DefaultMaxMessageBytes = 65536
	DefaultBatchSize       = 500
	DefaultBatchWait       = 20 * time.Millisecond
	DefaultMaxConns        = 1024
	DefaultDNSCacheTTL     = 10 * time.Minute
	// DefaultDLQMaxLen caps the dead-letter stream (approximately, XADD
	// MAXLEN ~): a sender spewing garbage must not fill Redis.
	DefaultDLQMaxLen = 100000
)

// Config is the static configuration of the syslog listeners. An empty
// address leaves that listener off.
type Config struct {
	UDPAddr string // MUTT_SYSLOG_UDP_ADDR
	TCPAddr string // MUTT_SYSLOG_TCP_ADDR
	TLSAddr string // MUTT_SYSLOG_TLS_ADDR

	TLSCertFile     string // MUTT_SYSLOG_TLS_CERT_FILE (PEM, required with TLSAddr)
	TLSKeyFile      string // MUTT_SYSLOG_TLS_KEY_FILE
	TLSClientCAFile string // MUTT_SYSLOG_TLS_CLIENT_CA_FILE: when set, clients must present a certificate it signed

	// AllowedSources are the networks senders may come from
	// (MUTT_SYSLOG_ALLOWED_SOURCES, comma-separated CIDRs or addresses);
	// empty allows every sender.
	AllowedSources []netip.Prefix

	UDPReceiveBuffer int // MUTT_SYSLOG_UDP_RECEIVE_BUFFER bytes (SO_RCVBUF); 0 keeps the kernel's default
	MaxMessageBytes  int // MUTT_SYSLOG_MAX_MESSAGE_BYTES, default 65536; longer messages go to the dead-letter stream
	BatchSize        int // MUTT_SYSLOG_BATCH_SIZE, default 500 events per Submit
	BatchWait        time.Duration
	MaxConns         int // MUTT_SYSLOG_MAX_CONNECTIONS per TCP/TLS listener, default 1024

	// SourceRate and ConnRate are events per second per sender address and
	// per TCP/TLS connection (MUTT_SYSLOG_SOURCE_RATE,
	// MUTT_SYSLOG_CONNECTION_RATE); 0 is unlimited. TCP waits (stops
	// reading) when over; UDP drops and counts.
	SourceRate, ConnRate float64

	// ReverseDNS looks up the name of a sender whose message has no
	// hostname (MUTT_SYSLOG_REVERSE_DNS); results, failures included, are
	// cached for DNSCacheTTL (MUTT_SYSLOG_DNS_CACHE_TTL).
	ReverseDNS  bool
	DNSCacheTTL time.Duration

	// TimeZone is the zone of RFC 3164 timestamps, which carry none
	// (MUTT_SYSLOG_TIMEZONE, an IANA name, default UTC).
	TimeZone *time.Location

	DLQMaxLen int64 // MUTT_SYSLOG_DLQ_MAX_LEN

	// DevDefault marks UDPAddr/TCPAddr as mutt dev's defaults rather than
	// settings: a port already taken (a second mutt dev, parallel tests)
	// then leaves that listener off with a warning instead of failing.
	DevDefault struct{ UDP, TCP bool }
}

// Enabled tells whether any listener is configured.
func (c Config) Enabled() bool { return c.UDPAddr != "" || c.TCPAddr != "" || c.TLSAddr != "" }

// ReadConfig reads the syslog variables from e. With dev set, UDP and TCP
// listen on 127.0.0.1:5514 unless the variables say otherwise ("off"
// turns a listener off).
func ReadConfig(e *config.Env, dev bool) Config {
	def := ""
	if dev {
		def = net.JoinHostPort("127.0.0.1", DevPort)
	}
	c := Config{
		UDPAddr:          listenAddr(e, def, "MUTT_SYSLOG_UDP_ADDR"),
		TCPAddr:          listenAddr(e, def, "MUTT_SYSLOG_TCP_ADDR"),
		TLSAddr:          listenAddr(e, "", "MUTT_SYSLOG_TLS_ADDR"),
		TLSCertFile:      e.String("", "MUTT_SYSLOG_TLS_CERT_FILE"),
		TLSKeyFile:       e.String("", "MUTT_SYSLOG_TLS_KEY_FILE"),
		TLSClientCAFile:  e.String("", "MUTT_SYSLOG_TLS_CLIENT_CA_FILE"),
		UDPReceiveBuffer: e.Int(0, 0, 1<<30, "MUTT_SYSLOG_UDP_RECEIVE_BUFFER"),
		MaxMessageBytes:  e.Int(DefaultMaxMessageBytes, 480, 16<<20, "MUTT_SYSLOG_MAX_MESSAGE_BYTES"),
		BatchSize:        e.Int(DefaultBatchSize, 1, 100000, "MUTT_SYSLOG_BATCH_SIZE"),
		BatchWait:        e.Duration(DefaultBatchWait, "MUTT_SYSLOG_BATCH_WAIT"),
		MaxConns:         e.Int(DefaultMaxConns, 1, 1<<20, "MUTT_SYSLOG_MAX_CONNECTIONS"),
		SourceRate:       float64(e.Int(0, 0, 100000000, "MUTT_SYSLOG_SOURCE_RATE")),
		ConnRate:         float64(e.Int(0, 0, 100000000, "MUTT_SYSLOG_CONNECTION_RATE")),
		ReverseDNS:       e.Bool(false, "MUTT_SYSLOG_REVERSE_DNS"),
		DNSCacheTTL:      e.Duration(DefaultDNSCacheTTL, "MUTT_SYSLOG_DNS_CACHE_TTL"),
		DLQMaxLen:        int64(e.Int(DefaultDLQMaxLen, 100, 1<<30, "MUTT_SYSLOG_DLQ_MAX_LEN")),
		TimeZone:         time.UTC,
	}
	if dev {
		_, _, udpSet := e.Lookup("MUTT_SYSLOG_UDP_ADDR")
		_, _, tcpSet := e.Lookup("MUTT_SYSLOG_TCP_ADDR")
		c.DevDefault.UDP, c.DevDefault.TCP = !udpSet, !tcpSet
	}
	if n, v, ok := e.Lookup("MUTT_SYSLOG_TIMEZONE"); ok {
		loc, err := time.LoadLocation(v)
		if err != nil {
			e.Fail(n, "%q is not a time zone such as UTC or Europe/Berlin", v)
		} else {
			c.TimeZone = loc
		}
	}
	if n, v, ok := e.Lookup("MUTT_SYSLOG_ALLOWED_SOURCES"); ok {
		p, err := ParseSources(v)
		if err != nil {
			e.Fail(n, "%v", err)
		}
		c.AllowedSources = p
	}
	if c.TLSAddr != "" && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		e.Fail("MUTT_SYSLOG_TLS_CERT_FILE", "is required (with MUTT_SYSLOG_TLS_KEY_FILE) when MUTT_SYSLOG_TLS_ADDR is set")
	}
	return c
}

// listenAddr is a listen address, "" when unset or "off".
func listenAddr(e *config.Env, def, name string) string {
	if _, v, ok := e.Lookup(name); ok && strings.EqualFold(v, "off") {
		return ""
	}
	return e.Addr(def, name)
}

// ParseSources reads a comma-separated list of CIDRs or single addresses.
func ParseSources(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.7", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// withDefaults fills zero values so a Config built in code needs only addresses.
func (c Config) withDefaults() Config {
	config.OrDefault(&c.MaxMessageBytes, DefaultMaxMessageBytes)
	config.OrDefault(&c.BatchSize, DefaultBatchSize)
	config.OrDefault(&c.BatchWait, DefaultBatchWait)
	config.OrDefault(&c.MaxConns, DefaultMaxConns)
	config.OrDefault(&c.DNSCacheTTL, DefaultDNSCacheTTL)
	config.OrDefault(&c.DLQMaxLen, DefaultDLQMaxLen)
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	return c
}
