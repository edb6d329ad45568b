package ingest

import (
	"time"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// Defaults of Config.
const (
	DefaultAddr          = ":8080"
	DefaultMaxBodyBytes  = 10 << 20
	DefaultMaxBatch      = 10000
	DefaultMaxFieldBytes = 65536
	DefaultMaxDepth      = 32
	// DefaultBodyTimeout is how long an authenticated client may take to
	// send one request body: 10 MiB at about 1 Mbit/s.
	DefaultBodyTimeout = 2 * time.Minute
	// MaxHostnameBytes is the longest hostname (RFC 1035 limit of a full name
	// plus slack for a trailing dot and odd client formats).
	MaxHostnameBytes = 255
)

// Config is the static configuration of the ingestor.
type Config struct {
	Addr          string   // MUTT_INGEST_ADDR, default ":8080"
	APIKeys       []string // INGEST_API_KEY, comma-separated; at least one required
	MaxBodyBytes  int64    // MUTT_INGEST_MAX_BODY_BYTES, default 10 MiB
	MaxBatch      int      // MUTT_INGEST_MAX_BATCH, default 10000 events per request
	MaxFieldBytes int      // MUTT_INGEST_MAX_FIELD_BYTES, default 65536 (message and any string); hostname max 255
	MaxDepth      int      // MUTT_INGEST_MAX_DEPTH, default 32 (JSON nesting)
	// BodyTimeout (MUTT_INGEST_BODY_TIMEOUT, default 2m) replaces the
	// listener's read timeout once a request's key is accepted, so large
	// bodies over slow links get through; an unauthenticated request's body
	// is never waited for.
	BodyTimeout time.Duration
	// TLS is MUTT_INGEST_TLS_CERT_FILE, _KEY_FILE, _CLIENT_CA_FILE and
	// _CLIENT_AUTH; unset, the listener speaks plain HTTP.
	TLS tlsconfig.Files
	// Durability is what an accepted event must have reached in Redis
	// before the 2xx (MUTT_REDIS_WAIT_REPLICAS, MUTT_REDIS_WAITAOF,
	// MUTT_REDIS_WAIT_TIMEOUT; ADR 0034). Zero: the primary's memory.
	Durability stream.Durability
	// ClockOffset (MUTT_TEST_CLOCK_OFFSET, e.g. "10m" or "-10m"; tests
	// only, ADR 0041) shifts the clock this ingestor stamps received_at
	// (and the dashboard's minute buckets) with, as a replica whose system
	// clock is that far off would. Zero in production.
	ClockOffset time.Duration
}

// ReadConfig reads the ingestor's variables from e. Problems are recorded in
// e (naming the variable) and reported by e.Err().
//
// API keys come from INGEST_API_KEY (alias MUTT_INGEST_API_KEY), a
// comma-separated list, plus INGEST_API_KEY_NEXT when set, so a key can be
// rotated without downtime: add the new key, move clients, drop the old one.
func ReadConfig(e *config.Env) Config {
	c := Config{
		Addr:          e.Addr(DefaultAddr, "MUTT_INGEST_ADDR"),
		APIKeys:       e.List("INGEST_API_KEY", "MUTT_INGEST_API_KEY"),
		MaxBodyBytes:  int64(e.Int(DefaultMaxBodyBytes, 1024, 1<<30, "MUTT_INGEST_MAX_BODY_BYTES")),
		MaxBatch:      e.Int(DefaultMaxBatch, 1, 1000000, "MUTT_INGEST_MAX_BATCH"),
		MaxFieldBytes: e.Int(DefaultMaxFieldBytes, 256, 1<<30, "MUTT_INGEST_MAX_FIELD_BYTES"),
		MaxDepth:      e.Int(DefaultMaxDepth, 2, 10000, "MUTT_INGEST_MAX_DEPTH"),
		BodyTimeout:   e.Duration(DefaultBodyTimeout, "MUTT_INGEST_BODY_TIMEOUT"),
		TLS:           tlsconfig.Read(e, "MUTT_INGEST_TLS", true),
	}
	c.Durability = stream.Durability{
		Replicas: e.Int(0, 0, 64, "MUTT_REDIS_WAIT_REPLICAS"),
		AOF:      e.Bool(false, "MUTT_REDIS_WAITAOF"),
		Timeout:  e.Duration(time.Second, "MUTT_REDIS_WAIT_TIMEOUT"),
	}
	if v := e.String("", "MUTT_TEST_CLOCK_OFFSET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d.Abs() > 24*time.Hour {
			e.Fail("MUTT_TEST_CLOCK_OFFSET", "%q is not a duration within ±24h such as -10m", v)
		}
		c.ClockOffset = d
	}
	if c.Durability.Timeout <= 0 {
		e.Fail("MUTT_REDIS_WAIT_TIMEOUT", "must be positive (a zero WAIT timeout would block forever)")
	}
	// No key here is not an error yet: the secrets provider may hold them
	// (the pipeline checks that one source has at least one).
	c.APIKeys = append(c.APIKeys, e.List("INGEST_API_KEY_NEXT")...)
	return c
}

// withDefaults fills zero limits, so a Config built in code needs only keys.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	config.OrDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	config.OrDefault(&c.MaxBatch, DefaultMaxBatch)
	config.OrDefault(&c.MaxFieldBytes, DefaultMaxFieldBytes)
	config.OrDefault(&c.MaxDepth, DefaultMaxDepth)
	config.OrDefault(&c.BodyTimeout, DefaultBodyTimeout)
	return c
}
