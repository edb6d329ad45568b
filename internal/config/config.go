// Package config reads MUTT's static configuration from the environment. Each
// service builds its own typed struct with an Env; every problem is collected
// and reported together, naming the variable, before anything starts.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Env reads variables and collects validation errors. It also records every
// variable it is asked for with its default (Vars), so the list of settings
// (deploy/mutt.env.example) is generated from the code, and it reads the
// Python MUTT's names as deprecated fallbacks (legacy.go).
type Env struct {
	lookup   func(string) (string, bool)
	errs     []error
	vars     map[string]*Var
	warnings []string
	warned   map[string]bool
	printer  io.Writer // deprecation warnings are also printed here (FromOS: stderr)
	refused  bool
}

// Var is one variable a configuration reader asked for.
type Var struct {
	Name    string   // canonical name
	Aliases []string // other accepted names
	Default string
}

// FromOS reads the process environment; deprecation warnings go to stderr.
func FromOS() *Env { return &Env{lookup: os.LookupEnv, printer: os.Stderr} }

// FromMap reads a fixed map (tests).
func FromMap(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// note records that names (canonical first) were read with default def.
func (e *Env) note(def string, names ...string) {
	if e.vars == nil {
		e.vars = map[string]*Var{}
	}
	if v, ok := e.vars[names[0]]; ok {
		if v.Default == "" {
			v.Default = def
		}
		return
	}
	e.vars[names[0]] = &Var{Name: names[0], Aliases: names[1:], Default: def}
}

// Vars returns every variable read so far, sorted by name.
func (e *Env) Vars() []Var {
	out := make([]Var, 0, len(e.vars))
	for _, v := range e.vars {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Warnings returns the deprecation warnings given so far (one per variable).
func (e *Env) Warnings() []string { return e.warnings }

func (e *Env) warn(name, msg string) {
	if e.warned == nil {
		e.warned = map[string]bool{}
	}
	if e.warned[name] {
		return
	}
	e.warned[name] = true
	e.warnings = append(e.warnings, msg)
	if e.printer != nil {
		fmt.Fprintf(e.printer, "mutt: deprecated: %s\n", msg)
	}
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
	if n, v, ok := e.legacyFallback(names[0]); ok {
		return n, v, true
	}
	return names[0], "", false
}

// Fail records an error about variable name.
func (e *Env) Fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// OrDefault sets *v to def when it is zero or negative: what a Config built
// in code leaves unset takes the default ReadConfig would have read.
func OrDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// VarError is a problem with the value of one variable (a file it names
// that cannot be read, …), found by code that does not hold the Env.
type VarError struct {
	Name string
	Err  error
}

func (e *VarError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *VarError) Unwrap() error { return e.Err }

// FailErr records err about the variable a *VarError in it names, else
// about name.
func (e *Env) FailErr(name string, err error) {
	var ve *VarError
	if errors.As(err, &ve) {
		e.Fail(ve.Name, "%v", ve.Err)
		return
	}
	e.Fail(name, "%v", err)
}

// String returns the variable or def.
func (e *Env) String(def string, names ...string) string {
	e.note(def, names...)
	if _, v, ok := e.Lookup(names...); ok {
		return v
	}
	return def
}

// Required returns the variable, recording an error when it is unset.
func (e *Env) Required(names ...string) string {
	e.note("", names...)
	n, v, ok := e.Lookup(names...)
	if !ok {
		e.Fail(n, "is required")
	}
	return v
}

// List splits a comma-separated variable, dropping empty items.
func (e *Env) List(names ...string) []string {
	e.note("", names...)
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
	e.note(strconv.Itoa(def), names...)
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
	if def > 0 {
		e.note(ShortDuration(def), names...)
	} else {
		e.note("", names...)
	}
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
	e.note(strconv.FormatBool(def), names...)
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

// ShortDuration formats d as time.ParseDuration reads it, without zero
// trailing units: 2m rather than 2m0s, 1h rather than 1h0m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Addr returns a listen address (host:port, host optional), or def.
func (e *Env) Addr(def string, names ...string) string {
	e.note(def, names...)
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
	e.note(redact(def), names...)
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
	RedisURL string
	// RedisCluster (MUTT_REDIS_CLUSTER) makes RedisURL (and REDIS_ADMIN_URL)
	// name a Redis Cluster in go-redis's form
	// redis://host1:port1?addr=host2:port2&addr=host3:port3.
	RedisCluster bool
	DatabaseURL  string
	RedisPrefix  string
	Shards       int
	LogFormat    string // json | text
	LogLevel     string
}

// DefaultRedisPrefix is MUTT_REDIS_PREFIX's default.
const DefaultRedisPrefix = "mutt:"

// ReadCommon reads the shared settings.
func ReadCommon(e *Env) Common {
	e.refuseLegacy()
	c := Common{
		RedisURL:     e.URL(e.legacyRedisURL("redis://127.0.0.1:6379/0"), []string{"redis", "rediss"}, "REDIS_URL"),
		DatabaseURL:  e.URL(e.legacyDatabaseURL("postgres://postgres@127.0.0.1:5432/mutt?sslmode=disable"), []string{"postgres", "postgresql"}, "DATABASE_URL"),
		RedisCluster: e.Bool(false, "MUTT_REDIS_CLUSTER"),
		RedisPrefix:  e.String(DefaultRedisPrefix, "MUTT_REDIS_PREFIX"),
		Shards:       e.Int(1, 1, 1024, "MUTT_STREAM_SHARDS"),
		LogFormat:    e.String("json", "MUTT_LOG_FORMAT"),
		LogLevel:     e.String("info", "MUTT_LOG_LEVEL", "LOG_LEVEL"),
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
