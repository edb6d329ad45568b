// Package config reads MUTT's static configuration from the environment. Each
// service builds its own typed struct with an Env; every problem is collected
// and reported together, naming the variable, before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads variables and collects validation errors.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{lookup: os.LookupEnv} }

// FromMap reads a fixed map (tests).
func FromMap(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// SetDefault makes name read as value when the environment does not set it.
func (e *Env) SetDefault(name, value string) {
	prev := e.lookup
	e.lookup = func(k string) (string, bool) {
		if v, ok := prev(k); ok || k != name {
			return v, ok
		}
		return value, true
	}
}

// Lookup returns the first non-empty variable among names (the first is the
// canonical name, the rest are accepted aliases such as the peer's names).
func (e *Env) Lookup(names ...string) (name, value string, ok bool) {
	for _, n := range names {
		if v, ok := e.lookup(n); ok && strings.TrimSpace(v) != "" {
			return n, strings.TrimSpace(v), true
		}
	}
	return names[0], "", false
}

// Fail records an error about variable name.
func (e *Env) Fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns the variable or def.
func (e *Env) String(def string, names ...string) string {
	if _, v, ok := e.Lookup(names...); ok {
		return v
	}
	return def
}

// Required returns the variable, recording an error when it is unset.
func (e *Env) Required(names ...string) string {
	n, v, ok := e.Lookup(names...)
	if !ok {
		e.Fail(n, "is required")
	}
	return v
}

// List splits a comma-separated variable, dropping empty items.
func (e *Env) List(names ...string) []string {
	_, v, _ := e.Lookup(names...)
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Int returns the variable as an integer in [min, max], or def.
func (e *Env) Int(def, min, max int, names ...string) int {
	n, v, ok := e.Lookup(names...)
	if !ok {
		return def
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		e.Fail(n, "%q is not an integer", v)
		return def
	}
	if i < min || i > max {
		e.Fail(n, "%d is outside %d..%d", i, min, max)
		return def
	}
	return i
}

// Duration returns the variable as a Go duration (e.g. "30s"), or def.
func (e *Env) Duration(def time.Duration, names ...string) time.Duration {
	n, v, ok := e.Lookup(names...)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.Fail(n, "%q is not a positive duration such as 30s", v)
		return def
	}
	return d
}

// Bool returns the variable as a boolean, or def.
func (e *Env) Bool(def bool, names ...string) bool {
	n, v, ok := e.Lookup(names...)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.Fail(n, "%q is not true or false", v)
		return def
	}
	return b
}

// Addr returns a listen address (host:port, host optional), or def.
func (e *Env) Addr(def string, names ...string) string {
	n, v, ok := e.Lookup(names...)
	if !ok {
		return def
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		e.Fail(n, "%q is not a listen address such as :8080 or 127.0.0.1:8080", v)
		return def
	}
	return v
}

// URL returns an absolute URL with one of schemes, or def.
func (e *Env) URL(def string, schemes []string, names ...string) string {
	n, v, ok := e.Lookup(names...)
	if !ok {
		v = def
	}
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		e.Fail(n, "%q is not an absolute URL", redact(v))
		return def
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return v
		}
	}
	e.Fail(n, "scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	return def
}

// redact hides a password in a URL for error messages.
func redact(v string) string {
	if u, err := url.Parse(v); err == nil {
		return u.Redacted()
	}
	return "(unparseable)"
}

// Err returns every recorded problem, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(e.errs...))
}

// Common is what every MUTT process needs.
type Common struct {
	RedisURL    string
	DatabaseURL string
	RedisPrefix string
	Shards      int
	LogFormat   string // json | text
	LogLevel    string
}

// DefaultRedisPrefix is MUTT_REDIS_PREFIX's default.
const DefaultRedisPrefix = "mutt:"

// ReadCommon reads the shared settings.
func ReadCommon(e *Env) Common {
	c := Common{
		RedisURL:    e.URL("redis://127.0.0.1:6379/0", []string{"redis", "rediss"}, "REDIS_URL"),
		DatabaseURL: e.URL("postgres://postgres@127.0.0.1:5432/mutt?sslmode=disable", []string{"postgres", "postgresql"}, "DATABASE_URL"),
		RedisPrefix: e.String(DefaultRedisPrefix, "MUTT_REDIS_PREFIX"),
		Shards:      e.Int(1, 1, 1024, "MUTT_STREAM_SHARDS"),
		LogFormat:   e.String("json", "MUTT_LOG_FORMAT"),
		LogLevel:    e.String("info", "MUTT_LOG_LEVEL", "LOG_LEVEL"),
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		e.Fail("MUTT_LOG_FORMAT", "%q is not json or text", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		e.Fail("MUTT_LOG_LEVEL", "%q is not debug, info, warn or error", c.LogLevel)
	}
	return c
}
