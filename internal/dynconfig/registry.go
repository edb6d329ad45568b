package dynconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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

// IntKey is the handle of an Int key. Only this package declares handles,
// each once, with its key; the zero IntKey names no key.
type IntKey struct{ k *Key }

// DurationKey is the handle of an Int key that holds a duration in a unit
// (milliseconds or seconds, as its name says).
type DurationKey struct {
	k    *Key
	unit time.Duration
}

// StringKey is the handle of a String key.
type StringKey struct{ k *Key }

// Name is the key's wire name: its Redis key suffix and API config name.
func (h IntKey) Name() string { return h.k.Name }

// Name is the key's wire name: its Redis key suffix and API config name.
func (h DurationKey) Name() string { return h.k.Name }

// Name is the key's wire name: its Redis key suffix and API config name.
func (h StringKey) Name() string { return h.k.Name }

func intKey(k Key) IntKey { k.Kind = Int; return IntKey{&k} }

func millisKey(k Key) DurationKey { k.Kind = Int; return DurationKey{&k, time.Millisecond} }

func secondsKey(k Key) DurationKey { k.Kind = Int; return DurationKey{&k, time.Second} }

func stringKey(k Key) StringKey { k.Kind = String; return StringKey{&k} }

const (
	ingestor  = "ingestor"
	alerter   = "alerter"
	forwarder = "forwarder"
)

// The known keys, one handle each: code reads a value through its handle
// (store.Int(dynconfig.MoogRateLimit)), so a misspelt key does not compile.
// Names follow the peer where it had one; they are wire names (Redis keys,
// API config names) and never change.
var (
	MaxIngestQueueSize = intKey(Key{Name: "max_ingest_queue_size", Default: "1000000", Min: 1, Max: 1e10,
		Env: []string{"MAX_INGEST_QUEUE_SIZE"}, Services: []string{ingestor},
		Description: "Ingest backlog (events, all shards; each shard gets its share) at which the ingestor answers 503 with Retry-After."})
	IngestMaxRate = intKey(Key{Name: "ingest_max_rate", Default: "50000", Min: 0, Max: 1e9,
		Env: []string{"INGEST_MAX_RATE"}, Services: []string{ingestor},
		Description: "Events accepted per ingest_rate_window across all ingestors; 0 turns the limit off. Beyond it: 429 with Retry-After."})
	IngestRateWindow = secondsKey(Key{Name: "ingest_rate_window", Default: "1", Min: 1, Max: 3600,
		Env: []string{"INGEST_RATE_WINDOW"}, Services: []string{ingestor},
		Description: "Window in seconds of ingest_max_rate; also the burst a client may send at once."})
	CacheReloadInterval = secondsKey(Key{Name: "cache_reload_interval", Default: "300", Min: 1, Max: 86400,
		Env: []string{"CACHE_RELOAD_INTERVAL"}, Services: []string{alerter},
		Description: "Seconds between periodic reloads of rules, dev hosts and teams (changes published on mutt:rules:updates apply at once)."})
	UnhandledThreshold = intKey(Key{Name: "unhandled_threshold", Default: "100", Min: 1, Max: 1e9,
		Env: []string{"UNHANDLED_THRESHOLD"}, Services: []string{alerter},
		Description: "Unmatched events of one host and message fingerprint within unhandled_window that raise one meta-alert."})
	UnhandledWindow = secondsKey(Key{Name: "unhandled_window", Default: "86400", Min: 1, Max: 31 * 86400,
		Env: []string{"UNHANDLED_WINDOW", "UNHANDLED_EXPIRY_SECONDS"}, Services: []string{alerter},
		Description: "Seconds of the unhandled-event counting window (and of the silence after a meta-alert)."})
	UnhandledDefaultTeam = stringKey(Key{Name: "unhandled_default_team", Default: "NETO",
		Env: []string{"UNHANDLED_DEFAULT_TEAM"}, Services: []string{alerter},
		Description: "Team of a meta-alert whose host has no device_teams entry."})
	AlerterBatchSize = intKey(Key{Name: "alerter_batch_size", Default: "500", Min: 1, Max: 10000,
		Env: []string{"ALERTER_BATCH_SIZE"}, Services: []string{alerter},
		Description: "Events an alerter reads, audits and acknowledges per batch."})
	AlerterInflightBatches = intKey(Key{Name: "alerter_inflight_batches", Default: "2", Min: 1, Max: 64,
		Services:    []string{alerter},
		Description: "Batches one alerter works on at once per shard: it reads the next batch while earlier ones are audited, added and acknowledged (each batch still acknowledges only after its audit rows and alerts are written)."})
	AlerterMaxAttempts = intKey(Key{Name: "alerter_max_attempts", Default: "5", Min: 1, Max: 1000,
		Env: []string{"ALERTER_MAX_RETRIES"}, Services: []string{alerter},
		Description: "Deliveries of one event before it is dead-lettered to mutt:dlq:alerter as max_deliveries_exceeded. Only redeliveries after an alerter crashed or stalled count; events that cannot be decoded or that PostgreSQL rejects are dead-lettered on their first delivery (decode_error, audit_rejected)."})
	AlerterQueueWarnThreshold = intKey(Key{Name: "alerter_queue_warn_threshold", Default: "10000", Min: 0, Max: 1e10,
		Services:    []string{alerter},
		Description: "Alert backlog above which the alerter logs a warning (at most once a minute)."})
	AlerterQueueShedThreshold = intKey(Key{Name: "alerter_queue_shed_threshold", Default: "50000", Min: 1, Max: 1e10,
		Services:    []string{alerter},
		Description: "Alert backlog above which the alerter applies alerter_shed_mode."})
	AlerterShedMode = stringKey(Key{Name: "alerter_shed_mode", Default: "defer", Enum: []string{"defer", "dlq"},
		Services:    []string{alerter},
		Description: "defer: slow down and let the backlog drain (nothing leaves the pipeline); dlq: dead-letter new events with reason shed (opt-in)."})
	AlerterDeferSleep = millisKey(Key{Name: "alerter_defer_sleep_ms", Default: "250", Min: 1, Max: 60000,
		Services:    []string{alerter},
		Description: "Pause in milliseconds between backlog checks while deferring."})
	StreamVisibilityTimeout = millisKey(Key{Name: "stream_visibility_timeout_ms", Default: "30000", Min: 100, Max: 3600000,
		Env: []string{"STREAM_VISIBILITY_TIMEOUT_MS"}, Services: []string{alerter, forwarder},
		Description: "Milliseconds an entry may stay unacknowledged and untouched before another consumer reclaims it."})
	ForwarderBatchSize = intKey(Key{Name: "forwarder_batch_size", Default: "500", Min: 1, Max: 10000,
		Env: []string{"FORWARDER_BATCH_SIZE"}, Services: []string{forwarder},
		Description: "Alerts a forwarder reads from the stream at once."})
	MoogRateLimit = intKey(Key{Name: "moog_rate_limit", Default: "50", Min: 0, Max: 1e9,
		Env: []string{"MOOG_RATE_LIMIT"}, Services: []string{forwarder},
		Description: "Alerts sent to Moogsoft per moog_rate_period across all forwarders; 0 turns the limit off. Excess alerts wait, never dropped."})
	MoogRatePeriod = secondsKey(Key{Name: "moog_rate_period", Default: "1", Min: 1, Max: 3600,
		Env: []string{"MOOG_RATE_PERIOD"}, Services: []string{forwarder},
		Description: "Period in seconds of moog_rate_limit."})
	MoogBatchSize = intKey(Key{Name: "moog_batch_size", Default: "1", Min: 1, Max: 1000,
		Env: []string{"MOOG_BATCH_SIZE"}, Services: []string{forwarder},
		Description: `Alerts per Moogsoft request: 1 posts one event object, more posts {"events":[...]}.`})
	MoogMaxRetries = intKey(Key{Name: "moog_max_retries", Default: "10", Min: 0, Max: 1000,
		Env: []string{"MOOG_MAX_RETRIES"}, Services: []string{forwarder},
		Description: "Retries of a retryable failure (408, 429, 5xx, timeout, connection error) before the alert is dead-lettered. Time while the circuit breaker is open does not count."})
	MoogRetryBaseDelay = millisKey(Key{Name: "moog_retry_base_delay_ms", Default: "1000", Min: 1, Max: 3600000,
		Env: []string{"MOOG_RETRY_BASE_DELAY_MS"}, Services: []string{forwarder},
		Description: "First retry delay in milliseconds; doubles per attempt, with full jitter."})
	MoogRetryMaxDelay = millisKey(Key{Name: "moog_retry_max_delay_ms", Default: "60000", Min: 1, Max: 3600000,
		Env: []string{"MOOG_RETRY_MAX_DELAY_MS"}, Services: []string{forwarder},
		Description: "Cap in milliseconds of the retry delay."})
	MoogTimeout = millisKey(Key{Name: "moog_timeout_ms", Default: "10000", Min: 100, Max: 300000,
		Env: []string{"MOOG_WEBHOOK_TIMEOUT_MS"}, Services: []string{forwarder},
		Description: "Timeout in milliseconds of one Moogsoft request."})
	CircuitBreakerThreshold = intKey(Key{Name: "circuit_breaker_threshold", Default: "10", Min: 1, Max: 1e6,
		Env: []string{"CIRCUIT_BREAKER_THRESHOLD"}, Services: []string{forwarder},
		Description: "Consecutive Moogsoft failures (all forwarders) that open the circuit breaker."})
	CircuitBreakerTimeout = secondsKey(Key{Name: "circuit_breaker_timeout", Default: "30", Min: 1, Max: 86400,
		Env: []string{"CIRCUIT_BREAKER_TIMEOUT"}, Services: []string{forwarder},
		Description: "Seconds the breaker stays open before one forwarder sends a single probe (half-open)."})
)

// registry is every known key, in the order above. TestEveryHandleIsRegistered
// checks that no handle is missing.
var registry = []*Key{
	MaxIngestQueueSize.k,
	IngestMaxRate.k,
	IngestRateWindow.k,
	CacheReloadInterval.k,
	UnhandledThreshold.k,
	UnhandledWindow.k,
	UnhandledDefaultTeam.k,
	AlerterBatchSize.k,
	AlerterInflightBatches.k,
	AlerterMaxAttempts.k,
	AlerterQueueWarnThreshold.k,
	AlerterQueueShedThreshold.k,
	AlerterShedMode.k,
	AlerterDeferSleep.k,
	StreamVisibilityTimeout.k,
	ForwarderBatchSize.k,
	MoogRateLimit.k,
	MoogRatePeriod.k,
	MoogBatchSize.k,
	MoogMaxRetries.k,
	MoogRetryBaseDelay.k,
	MoogRetryMaxDelay.k,
	MoogTimeout.k,
	CircuitBreakerThreshold.k,
	CircuitBreakerTimeout.k,
}

// Lookup returns the known key called name.
func Lookup(name string) (Key, bool) {
	for _, k := range registry {
		if k.Name == name {
			return *k, true
		}
	}
	return Key{}, false
}

// Keys returns every known key, sorted by name.
func Keys() []Key {
	out := make([]Key, len(registry))
	for i, k := range registry {
		out[i] = *k
	}
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return out
}
