package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

func TestPythonVariablesAreFallbacksWithOneWarningEach(t *testing.T) {
	e := config.FromMap(map[string]string{
		"REDIS_HOST": "redis.prod", "REDIS_PORT": "6380", "REDIS_DB": "2", "REDIS_PASS": "s3cr/t",
		"DB_HOST": "pg.prod", "DB_NAME": "mutt", "DB_USER": "mutt_user", "DB_PASS": "pw", "DB_TLS_ENABLED": "false",
		"SERVER_PORT_INGESTOR": "8080", "SERVER_PORT_WEBUI": "8091", "LOG_JSON_ENABLED": "false",
	})
	c := config.ReadCommon(e)
	require.NoError(t, e.Err())
	require.Equal(t, "rediss://:s3cr%2Ft@redis.prod:6380/2", c.RedisURL, "TLS on unless REDIS_TLS_ENABLED=false, as in Python")
	require.Equal(t, "postgres://mutt_user:pw@pg.prod:5432/mutt?sslmode=disable", c.DatabaseURL)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, ":8080", e.Addr(":9999", "MUTT_INGEST_ADDR"))
	require.Equal(t, ":8091", e.Addr(":8090", "MUTT_API_ADDR"))
	// Reading again does not warn again.
	_ = config.ReadCommon(e)
	_ = e.Addr(":9999", "MUTT_INGEST_ADDR")
	seen := map[string]int{}
	for _, w := range e.Warnings() {
		seen[strings.Fields(w)[0]]++
	}
	for _, n := range []string{"REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASS", "DB_HOST", "DB_NAME", "DB_PASS",
		"DB_TLS_ENABLED", "SERVER_PORT_INGESTOR", "SERVER_PORT_WEBUI", "LOG_JSON_ENABLED"} {
		require.Equal(t, 1, seen[n], n)
	}
	require.NotContains(t, strings.Join(e.Warnings(), "\n"), "s3cr", "no secret in a warning")
}

func TestMuttVariablesWinOverPythonOnes(t *testing.T) {
	e := config.FromMap(map[string]string{"REDIS_URL": "redis://mine:6379/0", "REDIS_HOST": "theirs",
		"MUTT_INGEST_ADDR": ":7000", "SERVER_PORT_INGESTOR": "8080"})
	c := config.ReadCommon(e)
	require.NoError(t, e.Err())
	require.Equal(t, "redis://mine:6379/0", c.RedisURL)
	require.Equal(t, ":7000", e.Addr(":8080", "MUTT_INGEST_ADDR"))
}

func TestRefusedPythonVariablesNameTheReplacement(t *testing.T) {
	e := config.FromMap(map[string]string{"METRICS_PORT_ALERTER": "8081", "INGEST_QUEUE_NAME": "mutt:ingest_queue",
		"SERVER_PORT_INGESTOR": "http"})
	_ = config.ReadCommon(e)
	_ = e.Addr(":8080", "MUTT_INGEST_ADDR")
	err := e.Err()
	require.ErrorContains(t, err, "METRICS_PORT_ALERTER: is a Python MUTT setting that MUTT does not read: MUTT serves /metrics and /health on one address per process: set MUTT_ALERTER_ADDR")
	require.ErrorContains(t, err, "INGEST_QUEUE_NAME: is a Python MUTT setting")
	require.ErrorContains(t, err, `SERVER_PORT_INGESTOR: "http" is not a port 1..65535 (read in place of MUTT_INGEST_ADDR)`)
}

func TestFromOSPrintsDeprecations(t *testing.T) {
	t.Setenv("REDIS_HOST", "redis.prod")
	e := config.FromOS()
	var buf bytes.Buffer
	config.SetWarningOutput(e, &buf)
	_ = config.ReadCommon(e)
	require.Contains(t, buf.String(), "mutt: deprecated: REDIS_HOST is the Python MUTT's setting: assembled into REDIS_URL")
}

func TestVarsRecordsEveryVariableWithDefault(t *testing.T) {
	e := config.FromMap(nil)
	_ = config.ReadCommon(e)
	byName := map[string]config.Var{}
	for _, v := range e.Vars() {
		byName[v.Name] = v
	}
	require.Equal(t, "redis://127.0.0.1:6379/0", byName["REDIS_URL"].Default)
	require.Equal(t, []string{"LOG_LEVEL"}, byName["MUTT_LOG_LEVEL"].Aliases)
	require.Equal(t, "1", byName["MUTT_STREAM_SHARDS"].Default)
}

func TestMorePythonFallbacks(t *testing.T) {
	e := config.FromMap(map[string]string{
		"INGESTOR_PORT": "8085", "ALERTER_HEALTH_PORT": "8082", "MOOG_FORWARDER_HEALTH_PORT": "8084", "LOG_FORMAT": "JSON",
		"RETENTION_EVENT_AUDIT_DAYS": "30", "RETENTION_AUDIT_DAYS": "400", "EVENT_ARCHIVE_RETENTION_YEARS": "7",
		"RETENTION_PRECREATE_MONTHS": "4", "VAULT_MOUNT_PATH": "kv", "VAULT_TLS_CA_CERT": "/ca.pem", "VAULT_TLS_VERIFY": "true",
		"DB_HOST": "pg", "DB_USER": "mutt_app", "DB_PASSWORD": "pw",
	})
	c := config.ReadCommon(e)
	require.Equal(t, "json", c.LogFormat)
	require.Equal(t, ":8085", e.Addr(":8080", "MUTT_INGEST_ADDR"))
	require.Equal(t, ":8082", e.Addr(":8081", "MUTT_ALERTER_ADDR"))
	require.Equal(t, ":8084", e.Addr(":8083", "MUTT_FORWARDER_ADDR"))
	require.Equal(t, 30, e.Int(90, 1, 36500, "EVENT_RETENTION_DAYS"))
	require.Equal(t, 400, e.Int(365, 1, 36500, "CONFIG_AUDIT_RETENTION_DAYS"))
	require.Equal(t, 2555, e.Int(2555, 1, 36500, "ARCHIVE_RETENTION_DAYS"), "7 years")
	require.Equal(t, 4, e.Int(3, 1, 36, "PARTITION_ADVANCE_MONTHS"))
	require.Equal(t, "kv", e.String("secret", "VAULT_KV_MOUNT"))
	require.Equal(t, "/ca.pem", e.String("", "VAULT_CACERT"))
	require.False(t, e.Bool(false, "VAULT_SKIP_VERIFY"), "VAULT_TLS_VERIFY=true is VAULT_SKIP_VERIFY=false")
	require.Contains(t, c.DatabaseURL, "pw@pg:5432", "DB_PASSWORD (the CronJobs' name) is read like DB_PASS")
	require.NoError(t, e.Err())
	require.Len(t, e.Warnings(), 13, "one warning per variable: %v", e.Warnings())

	bad := config.FromMap(map[string]string{"EVENT_ARCHIVE_RETENTION_YEARS": "forever", "LOG_FORMAT": "xml"})
	_ = config.ReadCommon(bad)
	_ = bad.Int(2555, 1, 36500, "ARCHIVE_RETENTION_DAYS")
	require.ErrorContains(t, bad.Err(), `EVENT_ARCHIVE_RETENTION_YEARS: "forever" is not a number of years 1..100 (read in place of ARCHIVE_RETENTION_DAYS)`)
	require.ErrorContains(t, bad.Err(), `LOG_FORMAT: "xml" is not json or text`)
}

func TestMorePythonVariablesAreRefusedWithTheReplacement(t *testing.T) {
	for name, want := range map[string]string{
		"POD_NAME":                     "names its stream consumers",
		"INGESTOR_WORKERS":             "scale with replicas",
		"WEBUI_WORKERS":                "scale with replicas",
		"RETENTION_ENABLED":            "mutt-retention schedule",
		"RETENTION_DRY_RUN":            "RetentionWorkflow",
		"RETENTION_DLQ_DAYS":           "does not expire dead letters",
		"RETENTION_CLEANUP_BATCH_SIZE": "RetentionWorkflow input",
		"OTEL_ENABLED":                 "no OpenTelemetry traces",
		"OTEL_EXPORTER_OTLP_ENDPOINT":  "no OpenTelemetry traces",
		"REMEDIATION_INTERVAL":         "mutt-dlq-remediation",
		"RETRY_MAX_ATTEMPTS":           "moog_max_retries",
		"MOOG_TIMEOUT":                 "moog_timeout_ms",
		"VAULT_SECRET_PATH":            "VAULT_SECRETS_PATH",
	} {
		e := config.FromMap(map[string]string{name: "x"})
		_ = config.ReadCommon(e)
		require.ErrorContains(t, e.Err(), name+": is a Python MUTT setting that MUTT does not read: ", name)
		require.ErrorContains(t, e.Err(), want, name)
	}
}

// pythonSettings are the environment variables the Python MUTT v2.5's code,
// .env.template, compose files and manifests use (shared/reference
// peer-hotpath.md §1-§8, peer-management.md §2, §5, §6, §8). Each must be
// read by MUTT under the same name, or be a fallback or a refusal: none may
// be ignored silently.
var pythonSettings = []string{
	"SERVER_PORT_INGESTOR", "SERVER_PORT_ALERTER", "SERVER_PORT_MOOG_FORWARDER", "SERVER_PORT_WEBUI", "WEBUI_PORT",
	"INGESTOR_HOST", "INGESTOR_PORT", "INGESTOR_WORKERS", "WEBUI_HOST", "WEBUI_WORKERS",
	"METRICS_PORT_ALERTER", "HEALTH_PORT_ALERTER", "METRICS_PORT_MOOG", "HEALTH_PORT_MOOG",
	"METRICS_PORT_REMEDIATION", "HEALTH_PORT_REMEDIATION", "ALERTER_HEALTH_PORT", "ALERTER_METRICS_PORT",
	"MOOG_FORWARDER_HEALTH_PORT", "MOOG_FORWARDER_METRICS_PORT", "METRICS_PORT", "PROMETHEUS_ENABLED", "POD_NAME",
	"REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASS", "REDIS_PASSWORD", "REDIS_TLS_ENABLED", "REDIS_CA_CERT_PATH",
	"REDIS_MAX_CONNECTIONS", "REDIS_SOCKET_KEEPALIVE", "REDIS_HEALTH_CHECK_INTERVAL",
	"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASS", "DB_PASSWORD", "DB_TLS_ENABLED", "DB_TLS_CA_CERT_PATH",
	"DB_POOL_MIN_CONN", "DB_POOL_MAX_CONN", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER",
	"POSTGRES_PASSWORD", "POSTGRES_POOL_MIN", "POSTGRES_POOL_MAX",
	"VAULT_ADDR", "VAULT_ROLE_ID", "VAULT_SECRET_ID_FILE", "VAULT_SECRETS_PATH", "VAULT_TOKEN_RENEW_THRESHOLD",
	"VAULT_RENEW_CHECK_INTERVAL", "VAULT_TOKEN", "VAULT_MOUNT_PATH", "VAULT_SECRET_PATH", "VAULT_TLS_CA_CERT", "VAULT_TLS_VERIFY",
	"LOG_LEVEL", "LOG_JSON_ENABLED", "LOG_FORMAT", "OTEL_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES", "SERVICE_VERSION", "DEPLOYMENT_ENV",
	"INGEST_QUEUE_NAME", "ALERT_QUEUE_NAME", "ALERTER_QUEUE_NAME", "ALERTER_PROCESSING_LIST_PREFIX", "MOOG_PROCESSING_LIST_PREFIX",
	"PROCESSING_LIST_PREFIX", "ALERTER_DLQ_NAME", "MOOG_DLQ_NAME", "DLQ_NAME", "DEAD_LETTER_QUEUE", "UNHANDLED_KEY_PREFIX",
	"UNHANDLED_PREFIX", "ALERTER_HEARTBEAT_PREFIX", "ALERTER_HEARTBEAT_INTERVAL", "HEARTBEAT_INTERVAL", "HEARTBEAT_EXPIRY",
	"JANITOR_INTERVAL", "BRPOPLPUSH_TIMEOUT", "INGEST_QUEUE_CAP", "METRICS_PREFIX", "METRICS_CACHE_TTL", "AUDIT_LOG_PAGE_SIZE",
	"REQUIRED_FIELDS", "REQUIRED_MESSAGE_FIELDS", "RULE_CACHE_TTL", "DYNAMIC_CONFIG_ENABLED", "RATE_LIMIT_ENABLED",
	"CIRCUIT_BREAKER_ENABLED", "MOOG_TIMEOUT", "MOOG_RATE_LIMIT_KEY", "RATE_LIMIT_MAX_REQUESTS", "RATE_LIMIT_WINDOW_SECONDS",
	"RATE_LIMIT_KEY", "RETRY_MAX_ATTEMPTS", "RETRY_INITIAL_DELAY", "RETRY_MAX_DELAY", "RETRY_BACKOFF_MULTIPLIER",
	"REMEDIATION_ENABLED", "REMEDIATION_INTERVAL", "REMEDIATION_BATCH_SIZE", "MAX_POISON_RETRIES", "POISON_MESSAGE_MAX_RETRIES",
	"MOOG_HEALTH_CHECK_ENABLED", "MOOG_HEALTH_TIMEOUT", "MOOG_WEBHOOK_URL", "PROMETHEUS_URL",
	"RETENTION_ENABLED", "RETENTION_DRY_RUN", "RETENTION_AUDIT_DAYS", "RETENTION_EVENT_AUDIT_DAYS", "RETENTION_DLQ_DAYS",
	"RETENTION_BATCH_SIZE", "RETENTION_CLEANUP_BATCH_SIZE", "RETENTION_METRICS_DAYS", "RETENTION_METRICS_FILE",
	"RETENTION_PRECREATE_MONTHS", "RETENTION_ENFORCEMENT_ENABLED", "EVENT_RETENTION_DAYS", "EVENT_ARCHIVE_RETENTION_YEARS",
	"CONFIG_AUDIT_RETENTION_DAYS",
}

// muttReadsUnderTheSameName are Python names MUTT reads as its own (same
// meaning); `mutt config init` reads the dynamic-config seeds besides.
var muttReadsUnderTheSameName = map[string]bool{"DB_USER": true, "VAULT_ADDR": true, "VAULT_ROLE_ID": true,
	"VAULT_SECRET_ID_FILE": true, "VAULT_SECRETS_PATH": true, "VAULT_TOKEN": true, "LOG_LEVEL": true,
	"MOOG_WEBHOOK_URL": true, "PROMETHEUS_URL": true, "EVENT_RETENTION_DAYS": true, "CONFIG_AUDIT_RETENTION_DAYS": true}

func TestNoPythonVariableIsIgnoredSilently(t *testing.T) {
	known := map[string]bool{}
	for _, l := range config.LegacyVariables() {
		known[l.Name] = true
	}
	for _, n := range pythonSettings {
		require.True(t, known[n] || muttReadsUnderTheSameName[n], "%s is neither read, a fallback nor refused", n)
	}
}
