package pipeline

import (
	"net"
	"slices"
	"strings"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/secrets"
)

// Config is the static configuration of the hot-path roles.
type Config struct {
	config.Common
	Ingest               ingest.Config
	AlerterAddr          string // health and metrics of an alerter
	ForwarderAddr        string // health and metrics of a forwarder
	MoogSimAddr          string
	MoogWebhookURL       string
	MoogAPIKey           string
	ForwarderConcurrency int
	// APIAddr is where `mutt api` listens (MUTT_API_ADDR); APIAdminKeys and
	// APIReadOnlyKeys are WEBUI_API_KEY and WEBUI_READONLY_API_KEY
	// (comma-separated; the secrets provider's WEBUI_API_KEY[_NEXT] add to the admin keys).
	APIAddr                       string
	APIAdminKeys, APIReadOnlyKeys []string
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
	// Pprof serves /debug/pprof/ on every role's HTTP listener (MUTT_PPROF;
	// off by default: profiles expose internals and cost CPU while taken).
	Pprof bool
	// DevKeys are the well-known development API keys `mutt dev` uses for
	// the keys the environment does not give (secrets provider key → value).
	// Setup stores them in the provider when it holds none, so they live
	// where a rotation replaces them, exactly as production keys do.
	DevKeys map[string]string
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
		Secrets:              secrets.ReadConfig(e),
		RedisUsername:        e.String("mutt", "REDIS_USERNAME"),
		DBUser:               e.String("", "DB_USER"),
	}
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
	}
	if slices.Contains(roles, Ingestor) {
		c.Ingest = ingest.ReadConfig(e)
	}
	c.APIAdminKeys = e.List("WEBUI_API_KEY")
	c.APIReadOnlyKeys = e.List("WEBUI_READONLY_API_KEY")
	c.MoogWebhookURL = e.URL("", []string{"http", "https"}, "MOOG_WEBHOOK_URL")
	if c.MoogWebhookURL == "" && dev {
		c.MoogWebhookURL = "http://" + loopback(c.MoogSimAddr) + "/events"
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

// loopback turns a listen address such as ":18083" into one to dial.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return net.JoinHostPort(host, port)
}
