package app

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/hotpath/snmptrap"
	"github.com/mutt-ops/mutt/hotpath/syslog"
	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/tlsconfig"
)

// Config is the static configuration of the hot-path roles.
type Config struct {
	config.Common
	Ingest               ingest.Config
	Syslog               syslog.Config // listeners of the ingestor role (off unless an address is set; mutt dev: 127.0.0.1:5514)
	AlerterAddr          string        // health and metrics of an alerter
	ForwarderAddr        string        // health and metrics of a forwarder
	MoogSimAddr          string
	MoogWebhookURL       string
	MoogAPIKey           string
	ForwarderConcurrency int
	// APIAddr is where `mutt api` listens (MUTT_API_ADDR); APIAdminKeys and
	// APIReadOnlyKeys are WEBUI_API_KEY and WEBUI_READONLY_API_KEY
	// (comma-separated; the secrets provider's WEBUI_API_KEY[_NEXT] add to the admin keys).
	APIAddr                       string
	APIAdminKeys, APIReadOnlyKeys []string
	// KeyNameSecret is MUTT_KEY_FINGERPRINT_SECRET, else the provider's
	// KEY_FINGERPRINT_SECRET is used (api.KeyName).
	KeyNameSecret string
	// APITLS is MUTT_API_TLS_CERT_FILE and MUTT_API_TLS_KEY_FILE.
	APITLS tlsconfig.Files
	// HTTP bounds every listener of the process (MUTT_HTTP_*).
	HTTP telemetry.HTTPConfig
	// Secrets chooses the secrets provider (MUTT_SECRETS_PROVIDER, Vault or a file).
	Secrets secrets.Config
	// RedisUsername is the Redis ACL user the services log in as with the
	// secrets' REDIS_PASS_CURRENT/NEXT (REDIS_USERNAME); DBUser the PostgreSQL
	// role (DB_USER; else the secrets' DB_USER, else the URL's user).
	RedisUsername, DBUser string
	// RedisAdminURL and DatabaseAdminURL are the privileged connections of
	// the worker (ACL SETUSER, ALTER ROLE, partition DDL), of migrations and of
	// `mutt setup` (REDIS_ADMIN_URL, DATABASE_ADMIN_URL; default REDIS_URL,
	// DATABASE_URL).
	RedisAdminURL, DatabaseAdminURL string
	// RedisAuthWait is how long a starting role retries, with backoff, a
	// login Redis refuses (MUTT_REDIS_AUTH_WAIT, 2m): a user lost in a Redis
	// restart comes back when the worker re-creates it.
	RedisAuthWait time.Duration
	// RedisUserCheckInterval is how often the worker checks that Redis still
	// has the ACL user and re-creates it if not (MUTT_REDIS_USER_CHECK_INTERVAL, 10s).
	RedisUserCheckInterval time.Duration
	// DisableDefaultRedisUser makes Setup disable Redis's default user
	// (`mutt setup --disable-default-user`).
	DisableDefaultRedisUser bool
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (MUTT_MEMORY_LIMIT; default MemoryLimitPerRole per hot-path role, none
	// in `mutt dev`; 0: none). ApplyMemoryLimit sets it unless GOMEMLIMIT is.
	MemoryLimit int64
	// Pprof serves /debug/pprof/ on every role's HTTP listener (MUTT_PPROF;
	// off by default: profiles expose internals and cost CPU while taken).
	Pprof bool
	// DevKeys are the well-known development API keys `mutt dev` uses for
	// the keys the environment does not give (secrets provider key → value).
	// Setup stores them in the provider when it holds none, so they live
	// where a rotation replaces them, exactly as production keys do.
	DevKeys map[string]string
	// InsecureTransport are the plaintext connections leaving this machine
	// that MUTT_ALLOW_INSECURE_TRANSPORT accepted; Connect logs each once.
	InsecureTransport []string
	// Dev is set for `mutt dev`: short API keys and plaintext are accepted.
	Dev bool
	// DevLogFile is where `mutt dev` also writes its log (MUTT_DEV_LOG_FILE,
	// default DevLogFile(prefix)), so `muttdev logs` can read it.
	DevLogFile string
	// DevStateFile is where `mutt dev` writes what its banner shows
	// (DevState) while it runs, for `muttdev status`: beside the log file.
	DevStateFile string
	// DevPrometheus is the Prometheus `mutt dev` runs (MUTT_DEV_PROMETHEUS_*).
	DevPrometheus DevPrometheusConfig
	// SNMP is the ingestor's trap receiver (MUTT_SNMP_*; off unless
	// MUTT_SNMP_ADDR is set, `mutt dev`: 127.0.0.1:1162).
	SNMP snmptrap.Config
}

// DevIngestKey is the ingest API key `mutt dev` stores in the secrets
// provider when neither INGEST_API_KEY nor the provider gives one.
const DevIngestKey = "mutt-dev-key"

// DevAPIAdminKey is the admin API key `mutt dev` stores likewise for WEBUI_API_KEY.
const DevAPIAdminKey = "mutt-dev-admin-key"

// ReadConfig reads the environment for a process running roles; only the
// settings those roles need are required. With dev set, the settings a
// production deployment must give explicitly get local defaults (the dev API
// key, the simulator as the Moogsoft webhook).
func ReadConfig(e *config.Env, dev bool, roles []Role) (Config, error) {
	common := config.ReadCommon(e)
	if dev {
		devInstanceDefaults(e, common.RedisPrefix)
		devLoopbackDefaults(e)
	}
	c := Config{
		Common:               common,
		AlerterAddr:          e.Addr(":8082", "MUTT_ALERTER_ADDR"),
		ForwarderAddr:        e.Addr(":8084", "MUTT_FORWARDER_ADDR"),
		MoogSimAddr:          e.Addr(":18083", "MUTT_MOOGSIM_ADDR"),
		MoogAPIKey:           e.String("", "MOOG_API_KEY"),
		ForwarderConcurrency: e.Int(8, 1, 1024, "MUTT_FORWARDER_CONCURRENCY"),
		Pprof:                e.Bool(false, "MUTT_PPROF"),
		APIAddr:              e.Addr(":8090", "MUTT_API_ADDR"),
		APITLS:               tlsconfig.Read(e, "MUTT_API_TLS", false),
		HTTP:                 telemetry.ReadHTTPConfig(e),
		Secrets:              secrets.ReadConfig(e),
		RedisUsername:        e.String("mutt", "REDIS_USERNAME"),
		DBUser:               e.String("", "DB_USER"),
	}
	c.MemoryLimit = readMemoryLimit(e, dev, roles)
	c.RedisAuthWait = e.Duration(2*time.Minute, "MUTT_REDIS_AUTH_WAIT")
	c.RedisUserCheckInterval = e.Duration(secrets.DefaultRedisUserCheckInterval, "MUTT_REDIS_USER_CHECK_INTERVAL")
	c.RedisAdminURL = e.URL(c.RedisURL, []string{"redis", "rediss"}, "REDIS_ADMIN_URL")
	c.DatabaseAdminURL = e.URL(c.DatabaseURL, []string{"postgres", "postgresql"}, "DATABASE_ADMIN_URL")
	if dev {
		c.DevKeys = map[string]string{}
		if _, _, ok := e.Lookup("INGEST_API_KEY", "MUTT_INGEST_API_KEY"); !ok {
			c.DevKeys[secrets.IngestAPIKey] = DevIngestKey
		}
		if _, _, ok := e.Lookup("WEBUI_API_KEY"); !ok {
			c.DevKeys[secrets.WebUIAPIKey] = DevAPIAdminKey
		}
		if _, _, ok := e.Lookup("MUTT_LOG_FORMAT"); !ok {
			c.LogFormat = "text"
		}
		c.DevLogFile = e.String(DevLogFile(common.RedisPrefix), "MUTT_DEV_LOG_FILE")
		c.DevPrometheus = readDevPrometheus(e, common.RedisPrefix, c.DevLogFile)
		c.DevStateFile = DevStateFile(common.RedisPrefix, c.DevLogFile)
	}
	if slices.Contains(roles, Ingestor) {
		c.Ingest = ingest.ReadConfig(e)
		c.SNMP = snmptrap.ReadConfig(e, dev)
		c.Syslog = syslog.ReadConfig(e, dev)
	}
	c.APIAdminKeys = e.List("WEBUI_API_KEY")
	c.APIReadOnlyKeys = e.List("WEBUI_READONLY_API_KEY")
	c.KeyNameSecret = e.String("", "MUTT_KEY_FINGERPRINT_SECRET")
	if !dev {
		checkKeyLengths(e, c)
	}
	c.MoogWebhookURL = e.URL("", []string{"http", "https"}, "MOOG_WEBHOOK_URL")
	if c.MoogWebhookURL == "" && dev {
		c.MoogWebhookURL = "http://" + Loopback(c.MoogSimAddr) + "/events"
	}
	c.Dev = dev
	c.InsecureTransport = checkTransport(e, dev, c)
	if c.Secrets.Provider == secrets.ProviderFile {
		e.CheckSecretsFile(dev, "MUTT_SECRETS_FILE", c.Secrets.File)
	}
	return c, e.Err()
}

// DevInstance is the name `mutt dev` derives from a non-default
// MUTT_REDIS_PREFIX ("blue:" → "blue"), "" for the default prefix. It keeps
// side-by-side instances apart in what is server-wide rather than per
// prefix or database.
func DevInstance(prefix string) string {
	if prefix == config.DefaultRedisPrefix {
		return ""
	}
	b := make([]byte, 0, len(prefix))
	for _, r := range strings.ToLower(prefix) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r)) // #nosec G115 -- the case admits only ASCII a-z and 0-9
		case len(b) > 0 && b[len(b)-1] != '_':
			b = append(b, '_')
		}
	}
	return strings.Trim(string(b), "_")
}

// devInstanceDefaults gives an instance with its own key prefix its own Redis
// ACL user, PostgreSQL role and secrets file unless they are set: ACL users
// and roles are server-wide, and setup limits the user to one prefix, so two
// instances sharing them would lock each other out.
func devInstanceDefaults(e *config.Env, prefix string) {
	name := DevInstance(prefix)
	if name == "" {
		return
	}
	for k, v := range map[string]string{
		"REDIS_USERNAME":    "mutt_" + name,
		"DB_USER":           postgres.DefaultUser + "_" + name,
		"MUTT_SECRETS_FILE": strings.TrimSuffix(secrets.DefaultFile, ".json") + "-" + name + ".json",
	} {
		if _, _, ok := e.Lookup(k); !ok {
			e.SetDefault(k, v)
		}
	}
}

// DevAddrs are the listen addresses of `mutt dev` (variable → default):
// loopback only, because dev runs with well-known keys. Setting a variable
// (e.g. MUTT_API_ADDR=:8090) exposes that listener on every interface.
var DevAddrs = map[string]string{
	"MUTT_INGEST_ADDR":    "127.0.0.1:8080",
	"MUTT_ALERTER_ADDR":   "127.0.0.1:8082",
	"MUTT_FORWARDER_ADDR": "127.0.0.1:8084",
	"MUTT_WORKER_ADDR":    "127.0.0.1:8086",
	"MUTT_API_ADDR":       "127.0.0.1:8090",
	"MUTT_MOOGSIM_ADDR":   "127.0.0.1:18083",
}

// devLoopbackDefaults makes every listener of `mutt dev` default to
// 127.0.0.1 (DevAddrs); the worker's config reads the same Env after this.
func devLoopbackDefaults(e *config.Env) {
	for k, v := range DevAddrs {
		e.SetDefault(k, v)
	}
}

// Loopback turns a listen address such as ":18083" into one to dial.
func Loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return net.JoinHostPort(host, port)
}

// checkTransport applies the transport rule (ADR 0016) to every outside
// connection of c; the admin URLs only when set (they default to the others).
// DevPrometheusConfig is the Prometheus `mutt dev` starts when PROMETHEUS_URL
// is not set.
type DevPrometheusConfig struct {
	// Addr is MUTT_DEV_PROMETHEUS_ADDR ("" when "off"). Unless set
	// explicitly (AddrSet), the first free port from it upwards is used.
	Addr    string
	AddrSet bool
	// Dir holds its configuration, rules and data (MUTT_DEV_PROMETHEUS_DIR,
	// default DevPrometheusDir: beside the dev log).
	Dir            string
	Binary         string        // MUTT_DEV_PROMETHEUS_BIN
	ScrapeInterval time.Duration // MUTT_DEV_PROMETHEUS_SCRAPE_INTERVAL
	Retention      time.Duration // MUTT_DEV_PROMETHEUS_RETENTION
}

// DevPrometheusDefaultAddr is where the dev Prometheus listens by default
// (the next free port when taken).
const DevPrometheusDefaultAddr = "127.0.0.1:9090"

// DevPrometheusDir is the default data directory of the dev Prometheus: in
// the directory of the dev log (the instance's state directory, ./.mutt),
// prometheus or prometheus-<instance> (DevInstance).
func DevPrometheusDir(redisPrefix, logFile string) string {
	name := "prometheus"
	if inst := DevInstance(redisPrefix); inst != "" {
		name += "-" + inst
	}
	return filepath.Join(filepath.Dir(logFile), name)
}

func readDevPrometheus(e *config.Env, prefix, logFile string) DevPrometheusConfig {
	c := DevPrometheusConfig{
		Dir:            e.String(DevPrometheusDir(prefix, logFile), "MUTT_DEV_PROMETHEUS_DIR"),
		Binary:         e.String("prometheus", "MUTT_DEV_PROMETHEUS_BIN"),
		ScrapeInterval: e.Duration(5*time.Second, "MUTT_DEV_PROMETHEUS_SCRAPE_INTERVAL"),
		Retention:      e.Duration(7*24*time.Hour, "MUTT_DEV_PROMETHEUS_RETENTION"),
	}
	if _, v, ok := e.Lookup("MUTT_DEV_PROMETHEUS_ADDR"); ok && strings.EqualFold(v, "off") {
		e.String(DevPrometheusDefaultAddr, "MUTT_DEV_PROMETHEUS_ADDR") // listed with its default
		return c
	}
	_, _, c.AddrSet = e.Lookup("MUTT_DEV_PROMETHEUS_ADDR")
	c.Addr = e.Addr(DevPrometheusDefaultAddr, "MUTT_DEV_PROMETHEUS_ADDR")
	return c
}

func checkTransport(e *config.Env, dev bool, c Config) []string {
	names := []string{"REDIS_URL", "REDIS_ADMIN_URL", "DATABASE_URL", "DATABASE_ADMIN_URL", "VAULT_ADDR", "MOOG_WEBHOOK_URL"}
	urls := map[string]string{"REDIS_URL": c.RedisURL, "DATABASE_URL": c.DatabaseURL, "MOOG_WEBHOOK_URL": c.MoogWebhookURL}
	if _, _, ok := e.Lookup("REDIS_ADMIN_URL"); ok {
		urls["REDIS_ADMIN_URL"] = c.RedisAdminURL
	}
	if _, _, ok := e.Lookup("DATABASE_ADMIN_URL"); ok {
		urls["DATABASE_ADMIN_URL"] = c.DatabaseAdminURL
	}
	if c.Secrets.Provider == secrets.ProviderVault {
		urls["VAULT_ADDR"] = c.Secrets.Vault.Addr
	}
	return e.CheckTransport(dev, names, urls)
}

// checkKeyLengths refuses, outside mutt dev, API keys from the environment
// shorter than apikey.MinLength (Connect checks the provider's).
func checkKeyLengths(e *config.Env, c Config) {
	for _, name := range []string{"INGEST_API_KEY", "INGEST_API_KEY_NEXT", "WEBUI_API_KEY", "WEBUI_READONLY_API_KEY"} {
		keys := e.List(name)
		if name == "INGEST_API_KEY" {
			keys = e.List(name, "MUTT_INGEST_API_KEY")
		}
		if err := apikey.CheckLength(name, keys); err != nil {
			e.Fail(name, "%s", strings.TrimPrefix(err.Error(), name+": "))
		}
	}
	if s := c.KeyNameSecret; s != "" && len(s) < apikey.MinLength {
		e.Fail("MUTT_KEY_FINGERPRINT_SECRET", "is %d bytes; at least %d", len(s), apikey.MinLength)
	}
}
