package dynconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a key's value.
type Kind string

// Kinds of values.
const (
	Int    Kind = "int"
	Float  Kind = "float"
	String Kind = "string"
	Bool   Kind = "bool"
)

// Key describes one known dynamic config key.
type Key struct {
	Name        string
	Kind        Kind
	Default     string
	Min, Max    float64 // inclusive range for Int and Float
	Enum        []string
	MaxLen      int      // longest String value in characters; 0: DefaultMaxLen
	Env         []string // environment variables `mutt config init` seeds it from, first wins
	Services    []string
	Description string
}

// DefaultMaxLen bounds a String key's value when the key sets no MaxLen:
// values are team names and modes, and each is logged when it changes.
const DefaultMaxLen = 256

// MaxLength is the longest value of a String key, in characters.
func (k Key) MaxLength() int {
	if k.MaxLen > 0 {
		return k.MaxLen
	}
	return DefaultMaxLen
}

// Parse validates s against the key and returns the typed value
// (int64, float64, string or bool). The error names the key and quotes at
// most a short prefix of s, so a huge value never reaches a log or an answer.
func (k Key) Parse(s string) (any, error) {
	s = strings.TrimSpace(s)
	if k.Kind == String {
		if n := utf8.RuneCountInString(s); n > k.MaxLength() {
			return nil, fmt.Errorf("%s: value is %d characters long, the limit is %d", k.Name, n, k.MaxLength())
		}
	}
	switch k.Kind {
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", k.Name, short(s))
		}
		if float64(n) < k.Min || float64(n) > k.Max {
			return nil, fmt.Errorf("%s: %d is outside %s", k.Name, n, k.rangeText())
		}
		return n, nil
	case Float:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", k.Name, short(s))
		}
		if f < k.Min || f > k.Max {
			return nil, fmt.Errorf("%s: %g is outside %s", k.Name, f, k.rangeText())
		}
		return f, nil
	case Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", k.Name, short(s))
		}
		return b, nil
	default:
		if len(k.Enum) > 0 && !slices.Contains(k.Enum, s) {
			return nil, fmt.Errorf("%s: %q is not one of %s", k.Name, short(s), strings.Join(k.Enum, ", "))
		}
		return s, nil
	}
}

// short is s, or its first 64 characters and how long it was.
func short(s string) string {
	const keep = 64
	if utf8.RuneCountInString(s) <= keep {
		return s
	}
	return string([]rune(s)[:keep]) + fmt.Sprintf("… (%d characters)", utf8.RuneCountInString(s))
}

func (k Key) rangeText() string {
	return strconv.FormatFloat(k.Min, 'g', -1, 64) + ".." + strconv.FormatFloat(k.Max, 'g', -1, 64)
}

const (
	ingestor  = "ingestor"
	alerter   = "alerter"
	forwarder = "forwarder"
)

// registry is every known key. Names follow the peer where it had one.
var registry = []Key{
	{Name: "max_ingest_queue_size", Kind: Int, Default: "1000000", Min: 1, Max: 1e10,
		Env: []string{"MAX_INGEST_QUEUE_SIZE"}, Services: []string{ingestor},
		Description: "Ingest backlog (entries, all shards) at which the ingestor answers 503 with Retry-After."},
	{Name: "ingest_max_rate", Kind: Int, Default: "50000", Min: 0, Max: 1e9,
		Env: []string{"INGEST_MAX_RATE"}, Services: []string{ingestor},
		Description: "Events accepted per ingest_rate_window across all ingestors; 0 turns the limit off. Beyond it: 429 with Retry-After."},
	{Name: "ingest_rate_window", Kind: Int, Default: "1", Min: 1, Max: 3600,
		Env: []string{"INGEST_RATE_WINDOW"}, Services: []string{ingestor},
		Description: "Window in seconds of ingest_max_rate; also the burst a client may send at once."},
	{Name: "cache_reload_interval", Kind: Int, Default: "300", Min: 1, Max: 86400,
		Env: []string{"CACHE_RELOAD_INTERVAL"}, Services: []string{alerter},
		Description: "Seconds between periodic reloads of rules, dev hosts and teams (changes published on mutt:rules:updates apply at once)."},
	{Name: "unhandled_threshold", Kind: Int, Default: "100", Min: 1, Max: 1e9,
		Env: []string{"UNHANDLED_THRESHOLD"}, Services: []string{alerter},
		Description: "Unmatched events of one host and message fingerprint within unhandled_window that raise one meta-alert."},
	{Name: "unhandled_window", Kind: Int, Default: "86400", Min: 1, Max: 31 * 86400,
		Env: []string{"UNHANDLED_WINDOW", "UNHANDLED_EXPIRY_SECONDS"}, Services: []string{alerter},
		Description: "Seconds of the unhandled-event counting window (and of the silence after a meta-alert)."},
	{Name: "unhandled_default_team", Kind: String, Default: "NETO",
		Env: []string{"UNHANDLED_DEFAULT_TEAM"}, Services: []string{alerter},
		Description: "Team of a meta-alert whose host has no device_teams entry."},
	{Name: "alerter_batch_size", Kind: Int, Default: "500", Min: 1, Max: 10000,
		Env: []string{"ALERTER_BATCH_SIZE"}, Services: []string{alerter},
		Description: "Events an alerter reads, audits and acknowledges per batch."},
	{Name: "alerter_inflight_batches", Kind: Int, Default: "2", Min: 1, Max: 64,
		Services:    []string{alerter},
		Description: "Batches one alerter works on at once per shard: it reads the next batch while earlier ones are audited, added and acknowledged (each batch still acknowledges only after its audit rows and alerts are written)."},
	{Name: "alerter_max_attempts", Kind: Int, Default: "5", Min: 1, Max: 1000,
		Env: []string{"ALERTER_MAX_RETRIES"}, Services: []string{alerter},
		Description: "Deliveries of one event before it is dead-lettered to mutt:dlq:alerter as max_deliveries_exceeded. Only redeliveries after an alerter crashed or stalled count; events that cannot be decoded or that PostgreSQL rejects are dead-lettered on their first delivery (decode_error, audit_rejected)."},
	{Name: "alerter_queue_warn_threshold", Kind: Int, Default: "10000", Min: 0, Max: 1e10,
		Services:    []string{alerter},
		Description: "Alert backlog above which the alerter logs a warning (at most once a minute)."},
	{Name: "alerter_queue_shed_threshold", Kind: Int, Default: "50000", Min: 1, Max: 1e10,
		Services:    []string{alerter},
		Description: "Alert backlog above which the alerter applies alerter_shed_mode."},
	{Name: "alerter_shed_mode", Kind: String, Default: "defer", Enum: []string{"defer", "dlq"},
		Services:    []string{alerter},
		Description: "defer: slow down and let the backlog drain (nothing leaves the pipeline); dlq: dead-letter new events with reason shed (opt-in)."},
	{Name: "alerter_defer_sleep_ms", Kind: Int, Default: "250", Min: 1, Max: 60000,
		Services:    []string{alerter},
		Description: "Pause in milliseconds between backlog checks while deferring."},
	{Name: "stream_visibility_timeout_ms", Kind: Int, Default: "30000", Min: 100, Max: 3600000,
		Env: []string{"STREAM_VISIBILITY_TIMEOUT_MS"}, Services: []string{alerter, forwarder},
		Description: "Milliseconds an entry may stay unacknowledged and untouched before another consumer reclaims it."},
	{Name: "forwarder_batch_size", Kind: Int, Default: "500", Min: 1, Max: 10000,
		Env: []string{"FORWARDER_BATCH_SIZE"}, Services: []string{forwarder},
		Description: "Alerts a forwarder reads from the stream at once."},
	{Name: "moog_rate_limit", Kind: Int, Default: "50", Min: 0, Max: 1e9,
		Env: []string{"MOOG_RATE_LIMIT"}, Services: []string{forwarder},
		Description: "Alerts sent to Moogsoft per moog_rate_period across all forwarders; 0 turns the limit off. Excess alerts wait, never dropped."},
	{Name: "moog_rate_period", Kind: Int, Default: "1", Min: 1, Max: 3600,
		Env: []string{"MOOG_RATE_PERIOD"}, Services: []string{forwarder},
		Description: "Period in seconds of moog_rate_limit."},
	{Name: "moog_batch_size", Kind: Int, Default: "1", Min: 1, Max: 1000,
		Env: []string{"MOOG_BATCH_SIZE"}, Services: []string{forwarder},
		Description: `Alerts per Moogsoft request: 1 posts one event object, more posts {"events":[...]}.`},
	{Name: "moog_max_retries", Kind: Int, Default: "10", Min: 0, Max: 1000,
		Env: []string{"MOOG_MAX_RETRIES"}, Services: []string{forwarder},
		Description: "Retries of a retryable failure (408, 429, 5xx, timeout, connection error) before the alert is dead-lettered. Time while the circuit breaker is open does not count."},
	{Name: "moog_retry_base_delay_ms", Kind: Int, Default: "1000", Min: 1, Max: 3600000,
		Env: []string{"MOOG_RETRY_BASE_DELAY_MS"}, Services: []string{forwarder},
		Description: "First retry delay in milliseconds; doubles per attempt, with full jitter."},
	{Name: "moog_retry_max_delay_ms", Kind: Int, Default: "60000", Min: 1, Max: 3600000,
		Env: []string{"MOOG_RETRY_MAX_DELAY_MS"}, Services: []string{forwarder},
		Description: "Cap in milliseconds of the retry delay."},
	{Name: "moog_timeout_ms", Kind: Int, Default: "10000", Min: 100, Max: 300000,
		Env: []string{"MOOG_WEBHOOK_TIMEOUT_MS"}, Services: []string{forwarder},
		Description: "Timeout in milliseconds of one Moogsoft request."},
	{Name: "circuit_breaker_threshold", Kind: Int, Default: "10", Min: 1, Max: 1e6,
		Env: []string{"CIRCUIT_BREAKER_THRESHOLD"}, Services: []string{forwarder},
		Description: "Consecutive Moogsoft failures (all forwarders) that open the circuit breaker."},
	{Name: "circuit_breaker_timeout", Kind: Int, Default: "30", Min: 1, Max: 86400,
		Env: []string{"CIRCUIT_BREAKER_TIMEOUT"}, Services: []string{forwarder},
		Description: "Seconds the breaker stays open before one forwarder sends a single probe (half-open)."},
}

// Lookup returns the known key called name.
func Lookup(name string) (Key, bool) {
	for _, k := range registry {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Keys returns every known key, sorted by name.
func Keys() []Key {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return out
}
