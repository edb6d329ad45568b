package config

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The Python MUTT v2.x read other variable names (shared/reference
// peer-*.md). None is ignored silently: each is either read as a fallback
// for MUTT's variable, with one deprecation warning, or refused at start
// with an error naming what replaces it.

// Legacy describes one Python MUTT variable.
type Legacy struct {
	Name        string
	Replacement string // MUTT's variable (or what to do instead)
	Fallback    bool   // read when the replacement is unset; otherwise refused
	Note        string
}

// legacySingle maps a MUTT variable to Python names read in its place, with
// the conversion of the value.
var legacySingle = map[string][]struct {
	name    string
	convert func(string) (string, error)
}{
	"MUTT_INGEST_ADDR":    {{"SERVER_PORT_INGESTOR", portAddr}, {"INGESTOR_PORT", portAddr}},
	"MUTT_API_ADDR":       {{"SERVER_PORT_WEBUI", portAddr}, {"WEBUI_PORT", portAddr}},
	"MUTT_ALERTER_ADDR":   {{"HEALTH_PORT_ALERTER", portAddr}, {"ALERTER_HEALTH_PORT", portAddr}},
	"MUTT_FORWARDER_ADDR": {{"HEALTH_PORT_MOOG", portAddr}, {"MOOG_FORWARDER_HEALTH_PORT", portAddr}},
	"MUTT_WORKER_ADDR":    {{"HEALTH_PORT_REMEDIATION", portAddr}},
	"MUTT_LOG_FORMAT":     {{"LOG_JSON_ENABLED", jsonFlag}, {"LOG_FORMAT", logFormat}},
	// Retention (scripts/retention_*.py, create_monthly_partitions.py) and
	// Vault names of the .env.template and compose file.
	"EVENT_RETENTION_DAYS":        {{"RETENTION_EVENT_AUDIT_DAYS", days}},
	"CONFIG_AUDIT_RETENTION_DAYS": {{"RETENTION_AUDIT_DAYS", days}},
	"ARCHIVE_RETENTION_DAYS":      {{"EVENT_ARCHIVE_RETENTION_YEARS", yearsToDays}},
	"PARTITION_ADVANCE_MONTHS":    {{"RETENTION_PRECREATE_MONTHS", days}},
	"VAULT_KV_MOUNT":              {{"VAULT_MOUNT_PATH", same}},
	"VAULT_CACERT":                {{"VAULT_TLS_CA_CERT", same}},
	"VAULT_SKIP_VERIFY":           {{"VAULT_TLS_VERIFY", invertBool}},
}

func same(v string) (string, error) { return v, nil }

func logFormat(v string) (string, error) {
	switch f := strings.ToLower(v); f {
	case "json", "text":
		return f, nil
	}
	return "", fmt.Errorf("%q is not json or text", v)
}

// days checks a positive whole number (days, months).
func days(v string) (string, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", fmt.Errorf("%q is not a positive whole number", v)
	}
	return strconv.Itoa(n), nil
}

func yearsToDays(v string) (string, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return "", fmt.Errorf("%q is not a number of years 1..100", v)
	}
	return strconv.Itoa(n * 365), nil
}

func invertBool(v string) (string, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return "", fmt.Errorf("%q is not true or false", v)
	}
	return strconv.FormatBool(!b), nil
}

func portAddr(v string) (string, error) {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("%q is not a port 1..65535", v)
	}
	return ":" + strconv.Itoa(p), nil
}

func jsonFlag(v string) (string, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return "json", nil
	case "false", "0", "no", "off":
		return "text", nil
	}
	return "", fmt.Errorf("%q is not true or false", v)
}

// refused are Python variables MUTT does not read, with what to do instead.
var refused = map[string]string{ // #nosec G101 -- variable names and advice, no credential
	"METRICS_PORT_ALERTER":           "MUTT serves /metrics and /health on one address per process: set MUTT_ALERTER_ADDR",
	"METRICS_PORT_MOOG":              "MUTT serves /metrics and /health on one address per process: set MUTT_FORWARDER_ADDR",
	"METRICS_PORT_REMEDIATION":       "remediation runs in the ops-plane worker: set MUTT_WORKER_ADDR",
	"SERVER_PORT_ALERTER":            "MUTT serves /metrics and /health on one address per process: set MUTT_ALERTER_ADDR",
	"SERVER_PORT_MOOG_FORWARDER":     "MUTT serves /metrics and /health on one address per process: set MUTT_FORWARDER_ADDR",
	"INGEST_QUEUE_NAME":              "MUTT's streams are named from MUTT_REDIS_PREFIX (mutt:stream:ingest:{N}); `mutt migrate from-python` drains the old list",
	"ALERT_QUEUE_NAME":               "MUTT's streams are named from MUTT_REDIS_PREFIX (mutt:stream:alerts:{N}); `mutt migrate from-python` drains the old list",
	"ALERTER_PROCESSING_LIST_PREFIX": "MUTT has no processing lists (consumer groups); unset it",
	"MOOG_PROCESSING_LIST_PREFIX":    "MUTT has no processing lists (consumer groups); unset it",
	"ALERTER_DLQ_NAME":               "MUTT's dead-letter streams are named from MUTT_REDIS_PREFIX (mutt:dlq:alerter)",
	"MOOG_DLQ_NAME":                  "MUTT's dead-letter streams are named from MUTT_REDIS_PREFIX (mutt:dlq:moog)",
	"DEAD_LETTER_QUEUE":              "parked dead letters live in mutt:dlq:poison (from MUTT_REDIS_PREFIX)",
	"METRICS_PREFIX":                 "the dashboard counters live under MUTT_REDIS_PREFIX + metrics:",
	"DYNAMIC_CONFIG_ENABLED":         "dynamic config is always on in MUTT; unset it",
	"REQUIRED_FIELDS":                "MUTT always requires hostname, message and timestamp (docs/adr/0006-ingest-contract.md)",
	"RATE_LIMIT_ENABLED":             "set the dynamic config ingest_max_rate to 0 to turn the ingest limit off",
	"CIRCUIT_BREAKER_ENABLED":        "the circuit breaker is always on; tune circuit_breaker_threshold / circuit_breaker_timeout (dynamic config)",
	"VAULT_TOKEN_RENEW_THRESHOLD":    "MUTT renews the Vault token from its own TTL; unset it",
	"VAULT_RENEW_CHECK_INTERVAL":     "MUTT renews the Vault token from its own TTL; unset it",
	"REDIS_CA_CERT_PATH":             "use a rediss:// REDIS_URL; the CA must be in the system trust store",
	"REDIS_MAX_CONNECTIONS":          "set pool_size=N in REDIS_URL",
	"DB_POOL_MIN_CONN":               "set pool_min_conns=N in DATABASE_URL",
	"DB_POOL_MAX_CONN":               "set pool_max_conns=N in DATABASE_URL",
	"POSTGRES_POOL_MIN":              "set pool_min_conns=N in DATABASE_URL",
	"POSTGRES_POOL_MAX":              "set pool_max_conns=N in DATABASE_URL",

	// Process model: one Go process per service, consumers named by MUTT.
	"POD_NAME":                    podName,
	"INGESTOR_WORKERS":            workers,
	"WEBUI_WORKERS":               workers,
	"INGESTOR_HOST":               "put the listen host in MUTT_INGEST_ADDR (e.g. 0.0.0.0:8080)",
	"WEBUI_HOST":                  "put the listen host in MUTT_API_ADDR (e.g. 0.0.0.0:8090)",
	"ALERTER_METRICS_PORT":        "MUTT serves /metrics and /health on one address per process: set MUTT_ALERTER_ADDR",
	"MOOG_FORWARDER_METRICS_PORT": "MUTT serves /metrics and /health on one address per process: set MUTT_FORWARDER_ADDR",
	"METRICS_PORT":                "MUTT serves /metrics on each service's own address (MUTT_*_ADDR)",
	"PROMETHEUS_ENABLED":          "/metrics is always served; unset it",
	"HEARTBEAT_INTERVAL":          noHeartbeats,
	"HEARTBEAT_EXPIRY":            noHeartbeats,
	"ALERTER_HEARTBEAT_PREFIX":    noHeartbeats,
	"ALERTER_HEARTBEAT_INTERVAL":  noHeartbeats,
	"JANITOR_INTERVAL":            "MUTT reclaims unacknowledged entries continuously (stream_visibility_timeout_ms, dynamic config)",
	"BRPOPLPUSH_TIMEOUT":          "MUTT has no lists to block on (consumer groups); unset it",
	"PROCESSING_LIST_PREFIX":      "MUTT has no processing lists (consumer groups); unset it",
	"DLQ_NAME":                    "MUTT's dead-letter streams are named from MUTT_REDIS_PREFIX (mutt:dlq:moog)",
	"ALERTER_QUEUE_NAME":          "MUTT's streams are named from MUTT_REDIS_PREFIX (mutt:stream:alerts:{N})",
	"UNHANDLED_KEY_PREFIX":        "MUTT's unhandled counters are named from MUTT_REDIS_PREFIX (mutt:unhandled:)",
	"UNHANDLED_PREFIX":            "MUTT's unhandled counters are named from MUTT_REDIS_PREFIX (mutt:unhandled:)",
	"INGEST_QUEUE_CAP":            "set the dynamic config max_ingest_queue_size (mutt config set, or MAX_INGEST_QUEUE_SIZE for mutt config init)",
	"REQUIRED_MESSAGE_FIELDS":     "MUTT always requires hostname, message and timestamp (docs/adr/0006-ingest-contract.md)",
	"RULE_CACHE_TTL":              "set the dynamic config cache_reload_interval (seconds)",
	"METRICS_CACHE_TTL":           "GET /api/v*/metrics reads Redis at request time; unset it",
	"AUDIT_LOG_PAGE_SIZE":         "audit lists take limit/page_size per request; unset it",
	"REDIS_SOCKET_KEEPALIVE":      "MUTT's Redis client keeps connections alive itself; unset it",
	"REDIS_HEALTH_CHECK_INTERVAL": "MUTT's Redis client checks connections itself; unset it",

	// Forwarder: retries, rate limit and breaker are dynamic config.
	"MOOG_TIMEOUT":              "set the dynamic config moog_timeout_ms (milliseconds)",
	"MOOG_RATE_LIMIT_KEY":       "the Moogsoft rate-limit key is named from MUTT_REDIS_PREFIX (mutt:rate_limit:moog)",
	"RATE_LIMIT_MAX_REQUESTS":   "set the dynamic config moog_rate_limit",
	"RATE_LIMIT_WINDOW_SECONDS": "set the dynamic config moog_rate_period (seconds)",
	"RATE_LIMIT_KEY":            "the rate-limit keys are named from MUTT_REDIS_PREFIX (mutt:rate_limit:*)",
	"RETRY_MAX_ATTEMPTS":        "set the dynamic config moog_max_retries",
	"RETRY_INITIAL_DELAY":       "set the dynamic config moog_retry_base_delay_ms (milliseconds)",
	"RETRY_MAX_DELAY":           "set the dynamic config moog_retry_max_delay_ms (milliseconds)",
	"RETRY_BACKOFF_MULTIPLIER":  "MUTT doubles the delay (with jitter) between moog_retry_base_delay_ms and moog_retry_max_delay_ms; unset it",

	// Remediation is the DLQRemediationWorkflow schedule (mutt-dlq-remediation).
	"REMEDIATION_ENABLED":        remediation,
	"REMEDIATION_INTERVAL":       remediation,
	"REMEDIATION_BATCH_SIZE":     remediation,
	"MAX_POISON_RETRIES":         remediation,
	"POISON_MESSAGE_MAX_RETRIES": remediation,
	"MOOG_HEALTH_CHECK_ENABLED":  remediation,
	"MOOG_HEALTH_TIMEOUT":        remediation,

	// Retention is the RetentionWorkflow schedule (mutt-retention).
	"RETENTION_ENABLED":             retention,
	"RETENTION_ENFORCEMENT_ENABLED": retention,
	"RETENTION_DRY_RUN":             "start a dry run on demand: temporal workflow start --task-queue mutt-ops --type RetentionWorkflow --input '{\"dry_run\":true}'",
	"RETENTION_BATCH_SIZE":          "the retention batch size is part of the RetentionWorkflow input (docs/runbooks/ops-plane.md)",
	"RETENTION_CLEANUP_BATCH_SIZE":  "the retention batch size is part of the RetentionWorkflow input (docs/runbooks/ops-plane.md)",
	"RETENTION_DLQ_DAYS":            "MUTT does not expire dead letters by age: DLQ remediation replays or parks them (dlq:poison); unset it",
	"RETENTION_METRICS_DAYS":        "metrics retention is Prometheus's; unset it",
	"RETENTION_METRICS_FILE":        "MUTT's worker exports retention metrics on /metrics (MUTT_WORKER_ADDR), no textfile; unset it",

	// Tracing: MUTT exports no OpenTelemetry traces.
	"OTEL_ENABLED":                otel,
	"OTEL_EXPORTER_OTLP_ENDPOINT": otel,
	"OTEL_SERVICE_NAME":           otel,
	"OTEL_RESOURCE_ATTRIBUTES":    otel,
	"SERVICE_VERSION":             otel,
	"DEPLOYMENT_ENV":              otel,

	// Vault: the compose file's names, never read by the Python services.
	"VAULT_SECRET_PATH": "set VAULT_SECRETS_PATH (the KV path under VAULT_KV_MOUNT, e.g. mutt)",
}

const (
	podName      = "MUTT names its stream consumers from the host name (the pod name in Kubernetes) and process id; remove POD_NAME from MUTT's environment"
	workers      = "MUTT is one process per service that serves requests concurrently; scale with replicas and remove it"
	noHeartbeats = "MUTT has no heartbeat keys (consumer groups reclaim a stopped consumer's entries); unset it"
	remediation  = "DLQ remediation runs as the mutt-dlq-remediation schedule of the worker (every 5 minutes; input max_replays, batch size): run it on demand with muttdev dlq replay, and unset this"
	retention    = "retention runs as the mutt-retention schedule of the worker (EVENT_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, CONFIG_AUDIT_RETENTION_DAYS); pause it with temporal schedule toggle --pause, and unset this"
	otel         = "MUTT exports no OpenTelemetry traces (correlation ids in logs, audit rows and Moogsoft external_id instead); remove the OTEL_* settings from MUTT's environment"
)

// redisParts and dbParts are the Python pieces MUTT assembles into REDIS_URL
// and DATABASE_URL when those are unset.
var redisParts = []string{"REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASS", "REDIS_PASSWORD", "REDIS_TLS_ENABLED"}
var dbParts = []string{"DB_HOST", "DB_PORT", "DB_NAME", "DB_PASS", "DB_PASSWORD", "DB_TLS_ENABLED", "DB_TLS_CA_CERT_PATH",
	"POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}

// LegacyVariables lists every Python variable MUTT knows about, for the docs.
func LegacyVariables() []Legacy {
	var out []Legacy
	for canon, ls := range legacySingle {
		for _, l := range ls {
			out = append(out, Legacy{Name: l.name, Replacement: canon, Fallback: true})
		}
	}
	for _, n := range redisParts {
		out = append(out, Legacy{Name: n, Replacement: "REDIS_URL", Fallback: true, Note: "assembled into REDIS_URL when it is unset (rediss:// unless REDIS_TLS_ENABLED=false, as in Python)"})
	}
	for _, n := range dbParts {
		out = append(out, Legacy{Name: n, Replacement: "DATABASE_URL", Fallback: true, Note: "assembled into DATABASE_URL when it is unset (sslmode=require unless DB_TLS_ENABLED=false, as in Python; DB_USER stays MUTT's login role)"})
	}
	for n, r := range refused {
		out = append(out, Legacy{Name: n, Replacement: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (e *Env) raw(name string) (string, bool) {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// legacyFallback reads a Python variable in place of canon.
func (e *Env) legacyFallback(canon string) (string, string, bool) {
	for _, l := range legacySingle[canon] {
		v, ok := e.raw(l.name)
		if !ok {
			continue
		}
		conv, err := l.convert(v)
		if err != nil {
			e.Fail(l.name, "%v (read in place of %s)", err, canon)
			return "", "", false
		}
		e.warn(l.name, fmt.Sprintf("%s is the Python MUTT's setting: read as %s=%s; rename it", l.name, canon, conv))
		return l.name, conv, true
	}
	return "", "", false
}

// refuseLegacy fails on every Python variable MUTT does not read (once).
func (e *Env) refuseLegacy() {
	if e.refused {
		return
	}
	e.refused = true
	names := make([]string, 0, len(refused))
	for n := range refused {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := e.raw(n); ok {
			e.Fail(n, "is a Python MUTT setting that MUTT does not read: %s", refused[n])
		}
	}
}

// legacyRedisURL assembles REDIS_URL from the Python pieces when REDIS_URL is
// unset and any piece is set; otherwise it returns def.
func (e *Env) legacyRedisURL(def string) string {
	if _, ok := e.raw("REDIS_URL"); ok || !e.anySet(redisParts) {
		return def
	}
	host := e.part("REDIS_HOST", "localhost")
	port := e.part("REDIS_PORT", "6379")
	db := e.part("REDIS_DB", "0")
	u := url.URL{Scheme: "rediss", Host: net.JoinHostPort(host, port), Path: "/" + db}
	if v, ok := e.raw("REDIS_TLS_ENABLED"); ok {
		e.used("REDIS_TLS_ENABLED", "REDIS_URL")
		if b, err := strconv.ParseBool(v); err == nil && !b {
			u.Scheme = "redis"
		}
	}
	if pw, ok := e.firstPart("REDIS_PASS", "REDIS_PASSWORD"); ok {
		u.User = url.UserPassword("", pw)
	}
	return u.String()
}

// legacyDatabaseURL assembles DATABASE_URL likewise from DB_* (or the
// compose file's POSTGRES_*).
func (e *Env) legacyDatabaseURL(def string) string {
	if _, ok := e.raw("DATABASE_URL"); ok || !e.anySet(dbParts) {
		return def
	}
	host, _ := e.firstPart("DB_HOST", "POSTGRES_HOST")
	if host == "" {
		host = "localhost"
	}
	port, _ := e.firstPart("DB_PORT", "POSTGRES_PORT")
	if port == "" {
		port = "5432"
	}
	name, _ := e.firstPart("DB_NAME", "POSTGRES_DB")
	if name == "" {
		name = "mutt"
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(host, port), Path: "/" + name}
	user, _ := e.firstPart("POSTGRES_USER")
	if user == "" {
		user, _ = e.raw("DB_USER")
	}
	pw, hasPW := e.firstPart("DB_PASS", "DB_PASSWORD", "POSTGRES_PASSWORD")
	switch {
	case user != "" && hasPW:
		u.User = url.UserPassword(user, pw)
	case user != "":
		u.User = url.User(user)
	}
	q := url.Values{"sslmode": {"require"}}
	if v, ok := e.raw("DB_TLS_ENABLED"); ok {
		e.used("DB_TLS_ENABLED", "DATABASE_URL")
		if b, err := strconv.ParseBool(v); err == nil && !b {
			q.Set("sslmode", "disable")
		}
	}
	if ca, ok := e.raw("DB_TLS_CA_CERT_PATH"); ok {
		e.used("DB_TLS_CA_CERT_PATH", "DATABASE_URL")
		q.Set("sslmode", "verify-ca")
		q.Set("sslrootcert", ca)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *Env) anySet(names []string) bool {
	for _, n := range names {
		if _, ok := e.raw(n); ok {
			return true
		}
	}
	return false
}

func (e *Env) used(name, into string) {
	e.warn(name, fmt.Sprintf("%s is the Python MUTT's setting: assembled into %s; set %s instead", name, into, into))
}

func (e *Env) part(name, def string) string {
	if v, ok := e.raw(name); ok {
		e.used(name, map[bool]string{true: "REDIS_URL", false: "DATABASE_URL"}[strings.HasPrefix(name, "REDIS_")])
		return v
	}
	return def
}

func (e *Env) firstPart(names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := e.raw(n); ok {
			e.part(n, "")
			return v, true
		}
	}
	return "", false
}

// SetWarningOutput sends e's deprecation warnings to w as well (nil: nowhere).
func SetWarningOutput(e *Env, w io.Writer) { e.printer = w }
