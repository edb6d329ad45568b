package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mutt-ops/mutt/internal/dynconfig"
)

// settingDoc documents one row of README's configuration table: one or
// several variables the code reads. The default column is generated from the
// code's own defaults (settings(), and `mutt dev`'s where they differ) unless
// Default says what the code cannot (a computed default, another tool's
// setting); Note follows the generated default.
type settingDoc struct {
	Names   []string
	Sep     string // between the names and their defaults; ", " unless set
	Default string // replaces the generated default column
	Note    string // after the generated default
	Meaning string
}

// settingDocs is README's configuration table, in its order. A variable the
// services read without a row here, or a row naming a variable nothing
// reads, fails TestConfigTablesAreCurrent.
var settingDocs = []settingDoc{
	{Names: []string{"REDIS_URL"}, Meaning: "Redis (`rediss://` for TLS)"},
	{Names: []string{"DATABASE_URL"}, Meaning: "PostgreSQL (`mutt dev` creates the database if missing)"},
	{Names: []string{"MUTT_REDIS_PREFIX"}, Meaning: "prefix of every Redis key and channel"},
	{Names: []string{"MUTT_STREAM_SHARDS"}, Meaning: "shards per stream (hash-tagged `{n}`, so shard n of both streams is one Redis Cluster slot; ADR 0001); same value on every process. On a cluster made by `redis-cli --cluster create` with three primaries, 4 shards reach all three (docs/SCALING.md)"},
	{Names: []string{"MUTT_REDIS_CLUSTER"}, Meaning: "`true`: `REDIS_URL` and `REDIS_ADMIN_URL` name a Redis Cluster in go-redis's form `redis://host1:port1?addr=host2:port2&addr=host3:port3` (`rediss://` for TLS); every role, `mutt setup` (ACL user on every primary and replica), the worker and `muttdev` use a cluster client (docs/SCALING.md)"},
	{Names: []string{"MUTT_REDIS_WAIT_REPLICAS"}, Meaning: "ingest waits (`WAIT n`) until this many replicas have the events before answering 2xx, so a 2xx survives the loss of the primary; not confirmed within `MUTT_REDIS_WAIT_TIMEOUT`: 503 `not_durable` (ADR 0034)"},
	{Names: []string{"MUTT_REDIS_WAITAOF"}, Meaning: "`true`: ingest waits with `WAITAOF 1 n` instead: the events fsynced to the primary's AOF and to `MUTT_REDIS_WAIT_REPLICAS` replicas' (Redis ≥ 7.2; refused at start otherwise; ADR 0034)"},
	{Names: []string{"MUTT_REDIS_WAIT_TIMEOUT"}, Meaning: "how long ingest waits for those confirmations"},
	{Names: []string{"INGEST_API_KEY"}, Note: "(`mutt dev`: `mutt-dev-key`, stored in the secrets provider)", Meaning: "comma-separated list of valid ingest keys, accepted next to the secrets provider's `INGEST_API_KEY[_NEXT]`; never rotated by `SecretRotationWorkflow` (remove them once the keys are in the provider)"},
	{Names: []string{"INGEST_API_KEY_NEXT"}, Meaning: "further valid keys during a rotation (comma-separated)"},
	{Names: []string{"MUTT_INGEST_ADDR"}, Meaning: "ingestor listen address"},
	{Names: []string{"MUTT_INGEST_MAX_BODY_BYTES"}, Meaning: "largest request body (413 above)"},
	{Names: []string{"MUTT_INGEST_MAX_BATCH"}, Meaning: "most events per request (400 above)"},
	{Names: []string{"MUTT_INGEST_MAX_FIELD_BYTES"}, Meaning: "longest string field (hostname: 255)"},
	{Names: []string{"MUTT_INGEST_MAX_DEPTH"}, Meaning: "deepest JSON nesting"},
	{Names: []string{"MUTT_INGEST_BODY_TIMEOUT"}, Meaning: "time an authenticated client has to send one request body (replaces `MUTT_HTTP_READ_TIMEOUT` once the key is accepted; 408 after it); a request without a valid key gets its 401 and the connection is closed without waiting for the body"},
	{Names: []string{"MUTT_TEST_CLOCK_OFFSET"}, Meaning: "fault tests only (ADR 0041): the ingestor stamps `received_at` (and counts the dashboard minute buckets) with its clock shifted by this duration (e.g. `-10m`, within ±24h), as a replica whose system clock is off would; logged as a warning at start; never set it in production"},
	{Names: []string{"MUTT_INGEST_TLS_CERT_FILE", "MUTT_INGEST_TLS_KEY_FILE"}, Meaning: "PEM certificate (chain) and key: the ingestor serves HTTPS only (TLS ≥ 1.2); the files are re-read when they change (cert-manager rotation), see [docs/SECURITY.md](docs/SECURITY.md#listeners-and-tls)"},
	{Names: []string{"MUTT_INGEST_TLS_CLIENT_CA_FILE"}, Meaning: "PEM CA bundle: clients present certificates signed by it (mTLS); the X-API-KEY is still required"},
	{Names: []string{"MUTT_INGEST_TLS_CLIENT_AUTH"}, Default: "`require`", Meaning: "with a client CA: `require` (no certificate, no connection) or `optional` (verified when presented)"},
	{Names: []string{"MUTT_SNMP_ADDR"}, Note: "(off; `mutt dev`: `127.0.0.1:1162`)", Meaning: "UDP address of the ingestor's SNMP-trap receiver (v1, v2c, v3 traps and INFORMs; [ADR 0019](docs/adr/0019-snmp-trap-receiver.md)); port 162 without root: [runbook](docs/runbooks/hot-path.md#snmp-traps)"},
	{Names: []string{"MUTT_SNMP_COMMUNITIES"}, Note: "(`mutt dev`: `public`)", Meaning: "comma-separated v1/v2c communities accepted; `*` accepts any; empty refuses v1/v2c"},
	{Names: []string{"MUTT_SNMP_V3_USERS"}, Meaning: "SNMPv3 USM users, a JSON array: `[{\"user\":\"noc\",\"auth\":\"SHA256\",\"auth_key\":\"…\",\"priv\":\"AES\",\"priv_key\":\"…\"}]` (auth MD5, SHA, SHA224, SHA256, SHA384, SHA512 or empty; priv DES, AES, AES192, AES256, AES192C, AES256C or empty; keys ≥ 8 characters); empty refuses v3"},
	{Names: []string{"MUTT_SNMP_V3_USERS_FILE"}, Meaning: "the same JSON read from a file (a mounted secret) instead of the environment"},
	{Names: []string{"MUTT_SNMP_ENGINE_ID"}, Default: "`80001f8804` + `mutt-<host name>`", Meaning: "the receiver's snmpEngineID in hex (5–32 bytes), reported to INFORM senders in engine-ID discovery"},
	{Names: []string{"MUTT_SNMP_RATE_PER_SOURCE", "MUTT_SNMP_BURST_PER_SOURCE"}, Meaning: "traps per second (and burst) accepted from one source address; the excess is counted (`mutt_snmp_packets_total{outcome=\"rate_limited\"}`) and dropped (an INFORM sender retries)"},
	{Names: []string{"MUTT_SNMP_WORKERS"}, Meaning: "traps decoded and submitted at once"},
	{Names: []string{"MUTT_SNMP_READ_BUFFER"}, Meaning: "UDP socket receive buffer in bytes (capped by `net.core.rmem_max`)"},
	{Names: []string{"MUTT_SNMP_REVERSE_DNS", "MUTT_SNMP_DNS_CACHE_TTL"}, Meaning: "name a trap without sysName.0 by the reverse DNS of its agent, cached (failures too)"},
	{Names: []string{"MUTT_SNMP_SUBMIT_RETRY"}, Meaning: "how long a trap (not an INFORM) is retried while ingest refuses it (rate limit, backlog, Redis down) before it goes to `mutt:dlq:snmp`"},
	{Names: []string{"MUTT_SNMP_DLQ_MAXLEN"}, Meaning: "approximate cap of `mutt:dlq:snmp` (rejected datagrams with reason and raw bytes)"},
	{Names: []string{"MUTT_SYSLOG_UDP_ADDR"}, Note: "(`mutt dev`: `127.0.0.1:5514`)", Meaning: "syslog over UDP (RFC 5424 and 3164) in the ingestor; `off` turns the dev default off; binding 514: [runbook](docs/runbooks/hot-path.md#syslog-intake)"},
	{Names: []string{"MUTT_SYSLOG_TCP_ADDR"}, Note: "(`mutt dev`: `127.0.0.1:5514`)", Meaning: "syslog over TCP (RFC 6587 octet counting or LF framing, detected per frame); backpressure, never drops"},
	{Names: []string{"MUTT_SYSLOG_TLS_ADDR"}, Meaning: "syslog over TLS (RFC 5425); needs the two next settings"},
	{Names: []string{"MUTT_SYSLOG_TLS_CERT_FILE", "MUTT_SYSLOG_TLS_KEY_FILE"}, Meaning: "PEM certificate and key of the TLS listener"},
	{Names: []string{"MUTT_SYSLOG_TLS_CLIENT_CA_FILE"}, Meaning: "when set, TLS clients must present a certificate this CA signed"},
	{Names: []string{"MUTT_SYSLOG_ALLOWED_SOURCES"}, Default: "— (all)", Meaning: "comma-separated CIDRs or addresses senders may use; others are dropped (UDP) or disconnected (TCP) and counted"},
	{Names: []string{"MUTT_SYSLOG_UDP_RECEIVE_BUFFER"}, Default: "kernel default", Meaning: "SO_RCVBUF of the UDP socket in bytes (the kernel caps it at `net.core.rmem_max`)"},
	{Names: []string{"MUTT_SYSLOG_MAX_MESSAGE_BYTES"}, Meaning: "longest message; longer ones go to `mutt:dlq:syslog` (first bytes kept)"},
	{Names: []string{"MUTT_SYSLOG_BATCH_SIZE", "MUTT_SYSLOG_BATCH_WAIT"}, Sep: " / ", Meaning: "events per ingest batch, and the longest a message waits for its batch"},
	{Names: []string{"MUTT_SYSLOG_MAX_CONNECTIONS"}, Meaning: "open TCP/TLS connections per listener"},
	{Names: []string{"MUTT_SYSLOG_SOURCE_RATE", "MUTT_SYSLOG_CONNECTION_RATE"}, Sep: " / ", Default: "`0` (unlimited)", Meaning: "events/s per sender address / per TCP connection; TCP waits, UDP drops and counts"},
	{Names: []string{"MUTT_SYSLOG_REVERSE_DNS", "MUTT_SYSLOG_DNS_CACHE_TTL"}, Sep: " / ", Meaning: "name a sender whose message has no hostname by reverse DNS (cached, failures too) instead of its address"},
	{Names: []string{"MUTT_SYSLOG_TIMEZONE"}, Default: "`UTC`", Meaning: "zone of RFC 3164 timestamps, which carry none (their year is the current one)"},
	{Names: []string{"MUTT_SYSLOG_DLQ_MAX_LEN"}, Meaning: "approximate cap of the `mutt:dlq:syslog` dead-letter stream"},
	{Names: []string{"MUTT_ALERTER_ADDR"}, Meaning: "alerter health and metrics"},
	{Names: []string{"MUTT_FORWARDER_ADDR"}, Meaning: "forwarder health and metrics"},
	{Names: []string{"MUTT_API_ADDR"}, Meaning: "admin API listen address (`mutt api`, also inside `mutt dev`)"},
	{Names: []string{"MUTT_API_TLS_CERT_FILE", "MUTT_API_TLS_KEY_FILE"}, Meaning: "PEM certificate and key: the admin API and web UI serve HTTPS only (TLS ≥ 1.2), files re-read when they change"},
	{Names: []string{"MUTT_HTTP_READ_HEADER_TIMEOUT"}, Meaning: "every HTTP listener (ingest, API, each role's health/metrics port, moog-sim): time to send the request headers"},
	{Names: []string{"MUTT_HTTP_READ_TIMEOUT"}, Meaning: "every HTTP listener: time to send a whole request (ingest bodies: `MUTT_INGEST_BODY_TIMEOUT`)"},
	{Names: []string{"MUTT_HTTP_WRITE_TIMEOUT"}, Meaning: "every HTTP listener: time from the end of the headers to the end of the answer (a client that does not read is cut off)"},
	{Names: []string{"MUTT_HTTP_IDLE_TIMEOUT"}, Meaning: "every HTTP listener: idle keep-alive connections are closed after this"},
	{Names: []string{"MUTT_HTTP_MAX_HEADER_BYTES"}, Meaning: "every HTTP listener: largest request header block"},
	{Names: []string{"MUTT_HTTP_MAX_CONNS"}, Meaning: "every HTTP listener: most open connections; more wait in the kernel's accept queue"},
	{Names: []string{"WEBUI_API_KEY"}, Note: "(`mutt dev`: `mutt-dev-admin-key`, stored in the secrets provider)", Meaning: "comma-separated admin API keys (named `admin-<fingerprint>` in audit rows); the secrets provider's `WEBUI_API_KEY` and `WEBUI_API_KEY_NEXT` are accepted too, re-read per request; environment keys are never rotated"},
	{Names: []string{"MUTT_KEY_FINGERPRINT_SECRET"}, Note: "(the secrets provider's `KEY_FINGERPRINT_SECRET`, generated by `mutt setup`)", Meaning: "server secret of the HMAC that names API keys in audit rows (`admin-<fingerprint>`); at least 32 bytes; changing it changes the names of new rows only"},
	{Names: []string{"WEBUI_READONLY_API_KEY"}, Meaning: "comma-separated read-only API keys (`readonly-<fingerprint>`): GET only, 403 on writes; the secrets provider's `WEBUI_READONLY_API_KEY` is accepted too"},
	{Names: []string{"MOOG_WEBHOOK_URL"}, Note: "(`mutt dev`: the simulator)", Meaning: "Moogsoft webhook; required by the forwarder"},
	{Names: []string{"MOOG_API_KEY"}, Meaning: "sent as `Authorization: Bearer`; never written to Redis. The secrets provider's `MOOG_API_KEY` wins and is re-read without a restart: by every process's periodic secrets reload, when Moogsoft refuses the key (the forwarder re-reads the provider and sends again once), and by every DLQ health probe"},
	{Names: []string{"MUTT_FORWARDER_CONCURRENCY"}, Meaning: "Moogsoft requests in flight per forwarder"},
	{Names: []string{"TEMPORAL_ADDRESS"}, Meaning: "Temporal frontend (`mutt dev` starts a dev server there when none answers)"},
	{Names: []string{"TEMPORAL_NAMESPACE"}, Meaning: "Temporal namespace (the dev server `mutt dev` starts creates it; on a running server it must exist)"},
	{Names: []string{"MUTT_TEMPORAL_UI_URL"}, Note: "(`mutt dev`: its dev server's UI)", Meaning: "Temporal web UI the console's dead letters and ops jobs pages link runs and schedules to; `mutt api` connects to Temporal for those pages only when `TEMPORAL_ADDRESS` is set"},
	{Names: []string{"TEMPORAL_API_KEY"}, Meaning: "Temporal Cloud API key, sent as `authorization: Bearer`; implies TLS; never logged"},
	{Names: []string{"TEMPORAL_TLS"}, Note: "(`true` when `TEMPORAL_API_KEY` or any `TEMPORAL_TLS_*` is set)", Meaning: "connect to Temporal over TLS (system CA roots unless `TEMPORAL_TLS_SERVER_CA_CERT_PATH`); `mutt dev` never starts a (plaintext) dev server when it is on"},
	{Names: []string{"TEMPORAL_TLS_CLIENT_CERT_PATH"}, Meaning: "PEM client certificate for mTLS (e.g. Temporal Cloud with certificates); with `TEMPORAL_TLS_CLIENT_KEY_PATH`"},
	{Names: []string{"TEMPORAL_TLS_CLIENT_KEY_PATH"}, Meaning: "PEM private key of `TEMPORAL_TLS_CLIENT_CERT_PATH`; both are read at start"},
	{Names: []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH"}, Note: "(system roots)", Meaning: "PEM CA that signed the Temporal frontend's certificate (self-managed clusters)"},
	{Names: []string{"TEMPORAL_TLS_SERVER_NAME"}, Note: "(host of `TEMPORAL_ADDRESS`)", Meaning: "server name to verify the frontend's certificate against (and SNI)"},
	{Names: []string{"MUTT_WORKER_ADDR"}, Meaning: "worker health and metrics"},
	{Names: []string{"MUTT_WORKER_APPLY_SCHEDULES"}, Meaning: "apply the schedules when `mutt worker` starts (`mutt dev` ignores it: it always applies them itself before starting its worker)"},
	{Names: []string{"PARTITION_ADVANCE_MONTHS"}, Meaning: "monthly audit partitions kept ahead"},
	{Names: []string{"EVENT_RETENTION_DAYS"}, Meaning: "audit events older than this are archived"},
	{Names: []string{"ARCHIVE_RETENTION_DAYS"}, Meaning: "archived events older than this are deleted"},
	{Names: []string{"CONFIG_AUDIT_RETENTION_DAYS"}, Meaning: "config audit rows older than this are deleted"},
	{Names: []string{"PROMETHEUS_URL"}, Note: "(`mutt dev`: the Prometheus it starts, see `MUTT_DEV_PROMETHEUS_ADDR`)", Meaning: "Prometheus the SLO report queries; without it the report says \"no data\""},
	{Names: []string{"MUTT_SECRETS_PROVIDER"}, Meaning: "`vault` in production; `file` (development) logs loudly"},
	{Names: []string{"MUTT_SECRETS_FILE"}, Meaning: "the file provider's JSON (mode 0600; outside `mutt dev` a file other users may read or write stops the start with the `chmod 600` to run)"},
	{Names: []string{"MUTT_ALLOW_INSECURE_TRANSPORT"}, Meaning: "outside `mutt dev`, a plaintext connection that leaves the machine (`http://` `VAULT_ADDR`/`MOOG_WEBHOOK_URL`, `redis://` `REDIS_URL`/`REDIS_ADMIN_URL`, a `DATABASE_URL`/`DATABASE_ADMIN_URL` whose `sslmode` is missing, `disable`, `allow` or `prefer`) stops the start naming the variable; `true` accepts it with one warning per setting. Loopback hosts and Unix sockets are always accepted (docs/SECURITY.md)"},
	{Names: []string{"VAULT_ADDR", "VAULT_TOKEN", "VAULT_TOKEN_FILE", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_SECRET_ID_FILE"}, Sep: " / ", Meaning: "Vault server and auth (token or AppRole; the token is renewed)"},
	{Names: []string{"VAULT_KV_MOUNT", "VAULT_SECRETS_PATH"}, Meaning: "KV v2 mount and path: secrets are read at `/v1/<mount>/data/<path>`"},
	{Names: []string{"VAULT_APPROLE_MOUNT", "VAULT_NAMESPACE", "VAULT_CLIENT_TIMEOUT", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_TLS_SERVER_NAME", "VAULT_SKIP_VERIFY"}, Default: "`approle`, —, `10s`, …", Meaning: "further Vault client settings"},
	{Names: []string{"REDIS_USERNAME"}, Meaning: "Redis ACL user the services log in as with `REDIS_PASS_CURRENT`/`NEXT` from the provider"},
	{Names: []string{"DB_USER"}, Default: "the provider's `DB_USER`, else the URL's user", Meaning: "PostgreSQL login role of the services (`DB_PASS_CURRENT`/`NEXT`)"},
	{Names: []string{"REDIS_ADMIN_URL", "DATABASE_ADMIN_URL"}, Default: "`REDIS_URL`, `DATABASE_URL`", Meaning: "privileged connections of `mutt setup`, migrations and the worker (ACL, ALTER ROLE, partition DDL); with `mutt setup --disable-default-user`, `REDIS_ADMIN_URL` must log in as a named Redis user (`redis://mutt_admin:…@host:6379/0`), never `default`"},
	{Names: []string{"MUTT_REDIS_AUTH_WAIT"}, Meaning: "how long a starting role retries, with backoff, a login Redis refuses (its ACL user lost in a restart comes back when the worker re-creates it) before it exits"},
	{Names: []string{"MUTT_REDIS_USER_CHECK_INTERVAL"}, Meaning: "how often the worker checks that Redis still has the `REDIS_USERNAME` ACL user and re-creates it (with the provider's passwords) when a restart lost it"},
	{Names: []string{"MUTT_SECRET_ROTATION_ENABLED"}, Meaning: "create the monthly `mutt-secret-rotation-<target>` schedules unpaused"},
	{Names: []string{"MUTT_MOOGSIM_ADDR"}, Meaning: "simulator listen address (`mutt moog-sim`, `mutt dev`)"},
	{Names: []string{"MUTT_MEMORY_LIMIT"}, Default: "`24MiB` per hot-path role of the process (`mutt alerter`: 24MiB, `mutt all`: 72MiB); none for `mutt dev`, `api`, `worker`, `moog-sim`", Meaning: "soft memory limit of the Go runtime (GOMEMLIMIT's syntax, e.g. `128MiB`; `off`: none): near it the GC runs earlier rather than letting the heap double, keeping a role's resident set within its budget; raise it with `alerter_batch_size` or `alerter_inflight_batches`; soft, so a larger live heap is never refused (the GC then takes up to half the CPU). `GOMEMLIMIT`, when set, wins ([ADR 0039](docs/adr/0039-alerter-memory-limit-and-one-round-trip-ack.md))"},
	{Names: []string{"MUTT_PPROF"}, Meaning: "serve `/debug/pprof/` on every role's listener (profiling; keep off in production)"},
	{Names: []string{"MUTT_LOG_FORMAT"}, Note: "(`mutt dev`: `text`)", Meaning: "`json` or `text`"},
	{Names: []string{"MUTT_LOG_LEVEL"}, Meaning: "`debug`, `info`, `warn`, `error`; the admin API logs answered requests at `debug`, refused (4xx) at `info`, failed (5xx) at `error`"},
	{Names: []string{"MUTT_DEV_LOG_FILE"}, Default: "`./.mutt/dev.log` (`./.mutt/dev-<instance>.log` with its own `MUTT_REDIS_PREFIX`)", Meaning: "`mutt dev` also writes its log there (stderr as before); `muttdev logs` reads it"},
	{Names: []string{"MUTT_DEV_PROMETHEUS_ADDR"}, Meaning: "`mutt dev` only: where the Prometheus it runs listens (Debian's `prometheus`, which `make run` installs), when `PROMETHEUS_URL` is unset; it scrapes every role with the rules of `deploy/prometheus/rules` and the SLO report queries it; unless set, the next free port when taken; `off`: no Prometheus (the SLO report says no_data). A missing binary is a warning, not an error"},
	{Names: []string{"MUTT_DEV_PROMETHEUS_DIR"}, Default: "`./.mutt/prometheus` (`./.mutt/prometheus-<instance>` with its own `MUTT_REDIS_PREFIX`), beside `MUTT_DEV_LOG_FILE`", Meaning: "`mutt dev` only: its Prometheus's configuration (rewritten at each start), rules, TSDB (`data/`) and log (`prometheus.log`)"},
	{Names: []string{"MUTT_DEV_PROMETHEUS_BIN"}, Meaning: "`mutt dev` only: the Prometheus binary, a path or a name looked up on `PATH`"},
	{Names: []string{"MUTT_DEV_PROMETHEUS_SCRAPE_INTERVAL"}, Meaning: "`mutt dev` only: scrape and rule evaluation interval of its Prometheus"},
	{Names: []string{"MUTT_DEV_PROMETHEUS_RETENTION"}, Meaning: "`mutt dev` only: how long its Prometheus keeps samples"},
	{Names: []string{"MUTT_API_URL"}, Default: "`http://127.0.0.1:8090`", Meaning: "muttdev only: the admin API it sends config and rule changes to (`--api-url`)"},
	{Names: []string{"MUTT_API_KEY"}, Default: "— (`WEBUI_API_KEY`'s first key, else `mutt-dev-admin-key`)", Meaning: "muttdev only: the admin API key it uses (`--api-key`)"},
	{Names: []string{"MUTT_OPERATOR"}, Default: "— (`USER`)", Meaning: "muttdev only: the name in `changed_by` (`muttdev:<name>`) of the audit rows it writes itself (`muttdev dlq purge`)"},
}

// docsByName maps every documented variable to its row's meaning.
func docsByName() map[string]string {
	out := map[string]string{}
	for _, d := range settingDocs {
		for _, n := range d.Names {
			out[n] = d.Meaning
		}
	}
	return out
}

// Markers around the generated tables in README.md.
const (
	settingsTableBegin = "<!-- BEGIN settings table: generated from cmd/mutt/settingsdoc.go by go test ./cmd/mutt -run TestConfigTablesAreCurrent -update -->"
	settingsTableEnd   = "<!-- END settings table -->"
	dynamicTableBegin  = "<!-- BEGIN dynamic config table: generated from internal/dynconfig by go test ./cmd/mutt -run TestConfigTablesAreCurrent -update -->"
	dynamicTableEnd    = "<!-- END dynamic config table -->"
)

// writeSettingsTable prints README's table of environment variables.
func writeSettingsTable(w io.Writer) {
	// A variable only `mutt dev` reads shows its dev default (settings()).
	prod, dev := defaults(settings()), defaults(devSettings())
	fmt.Fprint(w, "| variable | default | meaning |\n|---|---|---|\n")
	for _, d := range settingDocs {
		sep := d.Sep
		if sep == "" {
			sep = ", "
		}
		names := make([]string, len(d.Names))
		for i, n := range d.Names {
			names[i] = "`" + n + "`"
		}
		def := d.Default
		if def == "" {
			def = joinDefaults(d.Names, prod, sep)
			if devDef := joinDefaults(d.Names, dev, sep); devDef != def && devDef != "—" && !strings.Contains(d.Note, "`mutt dev`") {
				def += " (`mutt dev`: " + devDef + ")"
			}
			if d.Note != "" {
				def += " " + d.Note
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", strings.Join(names, sep), def, d.Meaning)
	}
}

// joinDefaults formats the defaults of names: "—" for none, one value when
// they share it.
func joinDefaults(names []string, defs map[string]string, sep string) string {
	out := make([]string, len(names))
	same := true
	for i, n := range names {
		out[i] = "—"
		if v := defs[n]; v != "" {
			out[i] = "`" + v + "`"
		}
		same = same && out[i] == out[0]
	}
	if same {
		return out[0]
	}
	return strings.Join(out, sep)
}

// writeDynamicTable prints README's table of dynamic config keys.
func writeDynamicTable(w io.Writer) {
	fmt.Fprint(w, "| key | default | meaning |\n|---|---|---|\n")
	for _, k := range dynconfig.Keys() {
		name := "`" + k.Name + "`"
		if len(k.Env) > 0 {
			envs := make([]string, len(k.Env))
			for i, e := range k.Env {
				envs[i] = "`" + e + "`"
			}
			name += " (" + strings.Join(envs, ", ") + ")"
		}
		fmt.Fprintf(w, "| %s | `%s` | %s |\n", name, k.Default, k.Description)
	}
}
