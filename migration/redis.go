package migration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
)

// RenameSuffix is appended to every Python key moved out of MUTT's way.
const RenameSuffix = ":python-v2.5"

// RedisOptions tune DrainRedis.
type RedisOptions struct {
	DryRun bool
	// PythonPrefix is the prefix of the Python MUTT's keys ("mutt:" unless its
	// *_QUEUE_NAME variables said otherwise).
	PythonPrefix string
	Keys         keyspace.Keys // MUTT's layout
	// Force drains although Python workers still send heartbeats.
	Force bool
	Now   time.Time
}

// KeyReport is what happened to one Python key.
type KeyReport struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Action string `json:"action"` // drained | renamed | copied | kept | dead-lettered
	Items  int64  `json:"items"`
	To     string `json:"to,omitempty"`
}

// ConfigChange is one translated dynamic config value.
type ConfigChange struct {
	Key string `json:"key"`
	Old string `json:"python_value"`
	New string `json:"mutt_value"`
	Why string `json:"why"`
}

// RedisReport is the Redis part of a migration report.
type RedisReport struct {
	Keys   []KeyReport    `json:"keys"`
	Config []ConfigChange `json:"config"`
	Notes  []string       `json:"notes,omitempty"`
}

// ErrPythonWorkersRunning is returned when Python alerters or forwarders still
// send heartbeats: draining their queues under them would race.
var ErrPythonWorkersRunning = errors.New("python MUTT workers are still running (mutt:heartbeat:* keys exist): stop them first, or pass --force")

// moveScript adds one converted entry and removes its original from the
// staging list in one atomic step: an item is in the stream or in staging,
// never both and never neither, so an interrupted drain reruns without loss
// or duplicates. KEYS: stream, staging, and for an ingest or alert stream
// its backlog counter (stream.CounterKey, in the stream's hash slot thanks
// to the {n} tag), which grows by the one event or alert added (ADR 0048,
// ADR 0049); a missing counter starts from the entries already there (one
// message each, as the stream scripts count them). ARGV: original, field,
// value, ….
var moveScript = redis.NewScript(`
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], redis.call('XLEN', KEYS[1]))
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
if KEYS[3] then redis.call('INCRBY', KEYS[3], 1) end
redis.call('LREM', KEYS[2], 1, ARGV[1])
return id
`)

// DrainRedis moves the Python MUTT's Redis state out of MUTT's way: the
// queues and processing lists are drained into MUTT's streams, keys of a type
// MUTT uses differently are renamed with RenameSuffix (never deleted), and
// dynamic config whose meaning changed is translated.
func DrainRedis(ctx context.Context, rdb redis.UniversalClient, o RedisOptions) (*RedisReport, error) {
	if o.PythonPrefix == "" {
		o.PythonPrefix = "mutt:"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	rep := &RedisReport{}
	p := o.PythonPrefix
	beats, err := scan(ctx, rdb, p+"heartbeat:*")
	if err != nil {
		return nil, err
	}
	if len(beats) > 0 && !o.Force && !o.DryRun {
		return nil, fmt.Errorf("%w: %s", ErrPythonWorkersRunning, strings.Join(beats, ", "))
	}
	if len(beats) > 0 {
		rep.Notes = append(rep.Notes, "Python workers send heartbeats ("+strings.Join(beats, ", ")+"): stop them before the real run")
	}

	// 1. Keys MUTT uses with another type: rename them first, whatever
	// their type, so no WRONGTYPE can occur (the drain below may add to
	// the DLQ streams) and nothing is lost.
	clash := []string{p + "dlq:alerter", p + "dlq:moog", p + "dlq:dead",
		p + "rate_limit:ingestor", p + "rate_limit:moog",
		p + "circuit_breaker:moogsoft:state", p + "circuit_breaker:moogsoft:failures", p + "circuit_breaker:moogsoft:open_time"}
	unhandled, err := scan(ctx, rdb, p+"unhandled:*")
	if err != nil {
		return nil, err
	}
	clash = append(clash, unhandled...)
	for _, k := range clash {
		if strings.HasSuffix(k, RenameSuffix) {
			continue
		}
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			return rep, fmt.Errorf("type of %s: %w", k, err)
		}
		ours := map[string]string{p + "dlq:alerter": "stream", p + "dlq:moog": "stream", p + "circuit_breaker:moogsoft:state": "hash",
			p + "rate_limit:ingestor": "string", p + "rate_limit:moog": "string"}[k]
		if typ == "none" || (ours != "" && typ == ours) || (strings.HasPrefix(k, p+"unhandled:") && typ == "hash") {
			continue // absent, or already MUTT's
		}
		kr := KeyReport{Key: k, Type: typ, Action: "renamed", To: k + RenameSuffix}
		if typ == "list" {
			kr.Items, _ = rdb.LLen(ctx, k).Result()
		}
		if !o.DryRun {
			ok, err := rdb.RenameNX(ctx, k, kr.To).Result()
			if err != nil {
				return rep, fmt.Errorf("rename %s: %w", k, err)
			}
			if !ok {
				return rep, fmt.Errorf("rename %s: %s already exists; move one of them by hand", k, kr.To)
			}
		}
		rep.Keys = append(rep.Keys, kr)
	}
	// 2. Queues. Processing lists hold what a worker had taken but not
	// finished: it goes back to the front of the same stage.
	type drain struct {
		pattern string
		alerts  bool
	}
	for _, d := range []drain{
		{p + "processing:alerter:*", false}, {p + "ingest_queue", false},
		{p + "processing:moog:*", true}, {p + "alert_queue", true},
	} {
		lists, err := scan(ctx, rdb, d.pattern)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			kr, err := drainList(ctx, rdb, l, d.alerts, o)
			if err != nil {
				return rep, err
			}
			rep.Keys = append(rep.Keys, kr)
		}
	}
	// Leftovers of an interrupted run whose source list is gone.
	staged, err := scan(ctx, rdb, o.Keys.Prefix+"migrate:staging:*")
	if err != nil {
		return nil, err
	}
	for _, s := range staged {
		if n, _ := rdb.LLen(ctx, s).Result(); n > 0 && !o.DryRun {
			src := strings.TrimPrefix(s, o.Keys.Prefix+"migrate:staging:")
			kr, err := drainList(ctx, rdb, src, strings.Contains(src, "alert_queue") || strings.Contains(src, "processing:moog"), o)
			if err != nil {
				return rep, err
			}
			rep.Keys = append(rep.Keys, kr)
		}
	}

	// 3. The Python DLQ lists, renamed in step 1, are copied into MUTT's
	// dead-letter streams so the DLQ tools list and replay them; the lists
	// stay (renamed) for a rollback.
	for _, d := range []struct{ key, kind string }{
		{p + "dlq:alerter", dlqAlerter}, {p + "dlq:moog", dlqMoog}, {p + "dlq:dead", dlqDead},
	} {
		list := d.key + RenameSuffix
		if o.DryRun { // nothing was renamed: the list is still under its own name
			if typ, err := rdb.Type(ctx, d.key).Result(); err != nil {
				return rep, fmt.Errorf("type of %s: %w", d.key, err)
			} else if typ == "list" {
				list = d.key
			}
		}
		if typ, err := rdb.Type(ctx, list).Result(); err != nil {
			return rep, fmt.Errorf("type of %s: %w", list, err)
		} else if typ != "list" {
			continue
		}
		kr, err := copyDLQList(ctx, rdb, list, d.kind, o)
		if err != nil {
			return rep, err
		}
		rep.Keys = append(rep.Keys, kr)
	}

	if err := translateConfig(ctx, rdb, o, rep); err != nil {
		return rep, err
	}
	rep.Notes = append(rep.Notes, "kept as they are: "+p+"metrics:{1m,1h,24h}:* (same meaning in MUTT, the dashboard continues), "+
		p+"heartbeat:* (expire by themselves)")
	return rep, nil
}

// Kinds of Python DLQ list: what its items are and where they go.
const (
	dlqAlerter = "alerter" // events the alerter gave up on → dlq:alerter (replayable)
	dlqMoog    = "moog"    // alerts the forwarder gave up on → dlq:moog (replayable)
	dlqDead    = "dead"    // what Python remediation gave up on → dlq:poison
)

// ReasonPythonDLQ is the reason of a dead letter copied from a Python DLQ
// list (the Python MUTT kept no reason).
const ReasonPythonDLQ = "python_dlq"

// copyScript adds one converted DLQ item to a stream and advances the copy's
// progress counter in one atomic step, refusing when the counter is not at
// the item's position (another run copied it): an item is copied exactly
// once, and an interrupted copy resumes at the next item. KEYS: stream,
// progress. ARGV: position, field, value, ….
var copyScript = redis.NewScript(`
local done = tonumber(redis.call('GET', KEYS[2]) or '0')
if done ~= tonumber(ARGV[1]) then
  return redis.error_reply('MUTT_COPY_MOVED progress is ' .. done .. ', not ' .. ARGV[1])
end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('SET', KEYS[2], done + 1)
return done + 1
`)

// copyBatch is how many list items one LRANGE reads.
const copyBatch = 500

// copyDLQList copies the items of a renamed Python DLQ list, oldest first,
// into MUTT's dead-letter stream of its kind. The list is left as it is
// (nothing writes to it any more: no Python process knows its new name), so
// positions are stable and <prefix>migrate:dlq-copied:<list> counts the
// items copied so far.
func copyDLQList(ctx context.Context, rdb redis.UniversalClient, list, kind string, o RedisOptions) (KeyReport, error) {
	kr := KeyReport{Key: list, Type: "list", Action: "copied", To: map[string]string{
		dlqAlerter: o.Keys.AlerterDLQ(), dlqMoog: o.Keys.MoogDLQ(), dlqDead: o.Keys.PoisonDLQ()}[kind]}
	progress := o.Keys.Prefix + "migrate:dlq-copied:" + list
	n, err := rdb.LLen(ctx, list).Result()
	if err != nil {
		return kr, fmt.Errorf("length of %s: %w", list, err)
	}
	done, err := rdb.Get(ctx, progress).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return kr, fmt.Errorf("read %s: %w", progress, err)
	}
	if o.DryRun {
		kr.Items = max(n-done, 0)
		return kr, nil
	}
	for done < n {
		// The right end is the oldest (Python LPUSHed): positions counted
		// from the right are stable while the list does not change.
		stop := -1 - done
		start := max(stop-copyBatch+1, -n)
		items, err := rdb.LRange(ctx, list, start, stop).Result()
		if err != nil {
			return kr, fmt.Errorf("read %s: %w", list, err)
		}
		if len(items) == 0 {
			break
		}
		for i := len(items) - 1; i >= 0; i-- {
			target, fields := convertDLQ([]byte(items[i]), kind, o)
			args := append([]any{done}, fields...)
			if err := copyScript.Run(ctx, rdb, []string{target, progress}, args...).Err(); err != nil {
				return kr, fmt.Errorf("copy item %d of %s to %s: %w", done, list, target, err)
			}
			done++
			kr.Items++
		}
	}
	return kr, nil
}

// convertDLQ makes the dead-letter entry for one Python DLQ item: the
// fields stream.DeadLetter writes, with the payload MUTT's stage reads, so
// a replay puts it back where MUTT would have taken it from.
func convertDLQ(item []byte, kind string, o RedisOptions) (string, []any) {
	now := o.Now.UTC().Format(time.RFC3339Nano)
	entry := func(source string, payload []byte) []any {
		return []any{"reason", ReasonPythonDLQ, "error", "dead-lettered by the Python MUTT v2.5", "attempts", "0",
			"failed_at", now, "source_stream", source, "source_id", "", stream.Field, payload}
	}
	poison := func(fields []any, from string) []any {
		return append(fields, "poisoned_at", now, "dlq", from, "poison_cause", "python_v2.5_dead")
	}
	switch kind {
	case dlqMoog:
		a, err := alertOf(item, o.Now)
		if err != nil {
			return o.Keys.MoogDLQ(), deadLetter("python_migration_invalid", err, item, o)
		}
		return o.Keys.MoogDLQ(), entry(o.Keys.AlertStream(0), a.AppendJSON(nil))
	case dlqDead:
		// Python remediation parked alerter DLQ events; an alert is read too.
		if _, payload, shard, err := ingest.DecodeQueued(item, o.Now, o.Keys.Shards); err == nil {
			return o.Keys.PoisonDLQ(), poison(entry(o.Keys.IngestStream(shard), payload), dlqAlerter)
		}
		a, err := alertOf(item, o.Now)
		if err != nil {
			return o.Keys.PoisonDLQ(), poison(deadLetter("python_migration_invalid", err, item, o), dlqAlerter)
		}
		return o.Keys.PoisonDLQ(), poison(entry(o.Keys.AlertStream(0), a.AppendJSON(nil)), dlqMoog)
	}
	_, payload, shard, err := ingest.DecodeQueued(item, o.Now, o.Keys.Shards)
	if err != nil {
		return o.Keys.AlerterDLQ(), deadLetter("python_migration_invalid", err, item, o)
	}
	return o.Keys.AlerterDLQ(), entry(o.Keys.IngestStream(shard), payload)
}

func scan(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var out []string
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", pattern, err)
	}
	return out, nil
}

// drainList moves every item of list l, oldest first, through a staging list
// into MUTT's stream (or, when it cannot be read, into the stage's DLQ stream
// with the reason).
func drainList(ctx context.Context, rdb redis.UniversalClient, l string, alerts bool, o RedisOptions) (KeyReport, error) {
	kr := KeyReport{Key: l, Type: "list", Action: "drained"}
	kr.To = o.Keys.IngestStream(0)
	if alerts {
		kr.To = o.Keys.AlertStream(0)
	}
	if o.Keys.Shards > 1 {
		kr.To = strings.TrimSuffix(kr.To, "{0}") + "{*}"
	}
	if typ, err := rdb.Type(ctx, l).Result(); err != nil {
		return kr, fmt.Errorf("type of %s: %w", l, err)
	} else if typ != "list" && typ != "none" {
		kr.Type, kr.Action = typ, "kept"
		return kr, nil
	}
	staging := o.Keys.Prefix + "migrate:staging:" + l
	if o.DryRun {
		n, err := rdb.LLen(ctx, l).Result()
		if err != nil {
			return kr, fmt.Errorf("length of %s: %w", l, err)
		}
		s, _ := rdb.LLen(ctx, staging).Result()
		kr.Items = n + s
		return kr, nil
	}
	// Moves to an ingest or alert stream keep the stream's counter
	// (moveScript); the DLQ streams have none.
	counted := append(o.Keys.IngestStreams(), o.Keys.AlertStreams()...)
	for {
		item, err := rdb.LIndex(ctx, staging, -1).Result()
		if errors.Is(err, redis.Nil) {
			// Python producers LPUSH and consumers pop from the right: the
			// right end is the oldest.
			item, err = rdb.LMove(ctx, l, staging, "RIGHT", "LEFT").Result()
			if errors.Is(err, redis.Nil) {
				return kr, nil
			}
		}
		if err != nil {
			return kr, fmt.Errorf("take from %s: %w", l, err)
		}
		target, fields := convert([]byte(item), alerts, o)
		args := append([]any{item}, fields...)
		keys := []string{target, staging}
		if slices.Contains(counted, target) {
			keys = append(keys, stream.CounterKey(target))
		}
		if err := moveScript.Run(ctx, rdb, keys, args...).Err(); err != nil {
			return kr, fmt.Errorf("move an item of %s to %s: %w", l, target, err)
		}
		kr.Items++
	}
}

// convert makes the stream entry for one Python item: the stream and its fields.
func convert(item []byte, alerts bool, o RedisOptions) (string, []any) {
	if !alerts {
		_, payload, shard, err := ingest.DecodeQueued(item, o.Now, o.Keys.Shards)
		if err == nil {
			return o.Keys.IngestStream(shard), []any{stream.Field, payload}
		}
		return o.Keys.AlerterDLQ(), deadLetter("python_migration_invalid", err, item, o)
	}
	a, err := alertOf(item, o.Now)
	if err != nil {
		return o.Keys.MoogDLQ(), deadLetter("python_migration_invalid", err, item, o)
	}
	return o.Keys.AlertStream(0), []any{stream.Field, a.AppendJSON(nil)}
}

// deadLetter has the fields stream.DeadLetter writes, so DLQ tools read it alike.
func deadLetter(reason string, err error, item []byte, o RedisOptions) []any {
	return []any{"reason", reason, "error", err.Error(), "attempts", "0",
		"failed_at", o.Now.UTC().Format(time.RFC3339Nano), "source_stream", "python-v2.5", "source_id", "", stream.Field, item}
}

// pythonAlert is an item of the Python mutt:alert_queue. Its api_key (the
// Moogsoft key the Python alerter copied into every alert) is dropped.
type pythonAlert struct {
	Hostname      string          `json:"hostname"`
	Team          string          `json:"team_assignment"`
	Severity      string          `json:"severity"`
	Body          string          `json:"message_body"`
	Raw           json.RawMessage `json:"raw_json"`
	CorrelationID string          `json:"_correlation_id"`
}

func alertOf(item []byte, now time.Time) (event.Alert, error) {
	var p pythonAlert
	if err := json.Unmarshal(item, &p); err != nil {
		return event.Alert{}, fmt.Errorf("not a Python alert object: %w", err)
	}
	if p.Hostname == "" {
		return event.Alert{}, errors.New(`missing field "hostname"`)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return event.Alert{}, err
	}
	a := event.Alert{EventID: id.String(), CorrelationID: p.CorrelationID, ReceivedAt: now, EventTime: now,
		Hostname: p.Hostname, Handling: "python_v2.5", Environment: "prod", Team: p.Team,
		Description: p.Body, Signature: p.Hostname, Meta: p.Hostname == "MUTT_Alerter"}
	if len(p.CorrelationID) > 64 || p.CorrelationID == "" {
		a.CorrelationID = id.String()
	}
	if a.Meta {
		a.Handling = "meta"
	}
	if len(p.Raw) > 0 && json.Valid(p.Raw) {
		a.Original = p.Raw
		var ev struct {
			Timestamp string `json:"timestamp"`
		}
		if json.Unmarshal(p.Raw, &ev) == nil {
			if t, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err == nil {
				a.EventTime = t
			}
		}
	}
	return a, nil
}

// translateConfig rewrites the dynamic config values whose meaning changed
// between the Python MUTT and MUTT and renames those MUTT reads differently.
func translateConfig(ctx context.Context, rdb redis.UniversalClient, o RedisOptions, rep *RedisReport) error {
	p := o.PythonPrefix
	get := func(name string) (string, bool, error) {
		v, err := rdb.Get(ctx, p+"config:"+name).Result()
		if errors.Is(err, redis.Nil) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("read config %s: %w", name, err)
		}
		return v, true, nil
	}
	set := func(name, old, val, why string) error {
		rep.Config = append(rep.Config, ConfigChange{Key: name, Old: old, New: val, Why: why})
		if o.DryRun {
			return nil
		}
		return dynconfig.Set(ctx, rdb, o.Keys, name, val)
	}
	rename := func(name, old, why string) error {
		rep.Config = append(rep.Config, ConfigChange{Key: name, Old: old, New: "(renamed to " + p + "config:" + name + RenameSuffix + ")", Why: why})
		if o.DryRun {
			return nil
		}
		return rdb.Rename(ctx, p+"config:"+name, p+"config:"+name+RenameSuffix).Err()
	}

	// unhandled_expiry_seconds is MUTT's unhandled_window (same unit).
	if v, ok, err := get("unhandled_expiry_seconds"); err != nil {
		return err
	} else if ok {
		if _, set2, _ := get("unhandled_window"); !set2 {
			if err := set("unhandled_window", v, integral(v), "Python's unhandled_expiry_seconds is MUTT's unhandled_window (seconds)"); err != nil {
				return err
			}
		}
		if err := rename("unhandled_expiry_seconds", v, "MUTT does not read this name"); err != nil {
			return err
		}
	}
	// ingest_max_rate: Python counted requests per ingest_rate_window
	// (default 60 s); MUTT counts events (a batch of N is N) per a window
	// that defaults to 1 s. The Python ingestor took one event per
	// request, so the number carries over once the window is pinned.
	if v, ok, err := get("ingest_max_rate"); err != nil {
		return err
	} else if ok {
		n := integral(v)
		why := "now counts events, not requests (a batch of N counts N); the Python ingestor took one event per request, so the number is kept"
		if n == "0" || strings.HasPrefix(n, "-") {
			n, why = "1", "Python refused every request at 0 or below; MUTT reads 0 as no limit, so 1 keeps the Python behaviour (raise it deliberately)"
		}
		if err := set("ingest_max_rate", v, n, why); err != nil {
			return err
		}
		if _, wset, err := get("ingest_rate_window"); err != nil {
			return err
		} else if !wset {
			if err := set("ingest_rate_window", "(unset: 60)", "60",
				"Python's default window was 60 s, MUTT's is 1 s: pinned to 60 so ingest_max_rate keeps its meaning"); err != nil {
				return err
			}
		}
	}
	// Shed mode: Python's dlq shed the oldest unevaluated event, any other
	// word meant "do not shed"; MUTT knows defer and dlq (which dead-letters
	// the newest events with reason shed).
	if v, ok, err := get("alerter_shed_mode"); err != nil {
		return err
	} else if ok {
		switch m := strings.ToLower(strings.TrimSpace(v)); m {
		case "dlq":
			if err := set("alerter_shed_mode", v, "dlq", "kept; MUTT dead-letters the newest events (reason shed, replayable) instead of the oldest"); err != nil {
				return err
			}
		case "defer":
			if v != m {
				if err := set("alerter_shed_mode", v, m, "normalised to lower case"); err != nil {
					return err
				}
			}
		default:
			if err := set("alerter_shed_mode", v, "defer", "Python ignored an unknown mode (no shedding); defer is MUTT's mode that loses nothing"); err != nil {
				return err
			}
		}
	}
	// Other known keys: Python stored str(value) ("300.0", "True"); make
	// them parse, and rename what MUTT cannot read rather than let it fall
	// back to a default silently.
	for _, k := range dynconfig.Keys() {
		switch k.Name {
		case "ingest_max_rate", "alerter_shed_mode", "unhandled_window":
			continue
		}
		v, ok, err := get(k.Name)
		if err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := k.Parse(v); err == nil {
			continue
		}
		if n := integral(v); n != v {
			if _, err := k.Parse(n); err == nil {
				if err := set(k.Name, v, n, "Python stored str(float); MUTT wants an integer"); err != nil {
					return err
				}
				continue
			}
		}
		if k.Name == "unhandled_threshold" {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f <= 0 {
				if err := set(k.Name, v, strconv.FormatFloat(k.Max, 'f', 0, 64), "Python never raised a meta-alert at 0 or below; the maximum keeps that"); err != nil {
					return err
				}
				continue
			}
		}
		if err := rename(k.Name, v, "not a valid value for MUTT ("+k.Description+")"); err != nil {
			return err
		}
	}
	return nil
}

// integral turns "300.0" into "300"; anything else is returned unchanged.
func integral(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e15 {
		return v
	}
	return strconv.FormatInt(int64(f), 10)
}
