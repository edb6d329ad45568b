package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

// unhandledScript counts the unmatched events of one (host, fingerprint)
// key in a batch, in order, in the hash KEYS[1] (fields count and fired), and
// says which of them raises the window's meta-alert. ARGV: threshold, window
// seconds, then the events' ids in batch order. Returns the 1-based position
// of the event that fires, or 0. It behaves exactly as if called once per
// event, but costs one call per key and batch.
//
//   - Once the window fired, nothing is counted; only the event that fired
//     gets its position again, so a batch retried after a failure re-emits
//     its meta-alert (at-least-once) while every other event stays silent.
//   - The TTL is set when the key is created: the window is fixed from the
//     first unmatched event, and the silence after a fire lasts until it ends.
//   - count >= threshold (not ==), so lowering the threshold at run time fires
//     on the next event instead of never.
//
// A single key, so it works on Redis Cluster.
var unhandledScript = redis.NewScript(`
local k = #ARGV - 2
local fired = redis.call('HGET', KEYS[1], 'fired')
if fired then
  for i = 1, k do
    if ARGV[i + 2] == fired then return i end
  end
  return 0
end
local n = redis.call('HINCRBY', KEYS[1], 'count', k)
if n == k then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
local threshold = tonumber(ARGV[1])
if n >= threshold then
  local i = math.max(1, threshold - (n - k))
  redis.call('HSET', KEYS[1], 'fired', ARGV[i + 2])
  return i
end
return 0
`)

// metaSampleLen is how much of the firing message a meta-alert quotes (runes).
const metaSampleLen = 200

// unmatchedHost is the host name used when an unmatched event has none.
const unmatchedHost = "unknown"

// unhandledKey is one (host, fingerprint) window and its events in a batch.
type unhandledKey struct {
	key   string
	fp    string
	items []int // positions in the batch's items, in order
}

// countUnhandled runs the counting script for every (host, fingerprint) key
// of the batch's unmatched events in one pipeline and returns the
// meta-alerts to raise.
func (a *Alerter) countUnhandled(ctx context.Context, eng *rules.Engine, items []item) ([]event.Alert, error) {
	var groups []unhandledKey
	byKey := map[string]int{}
	for i := range items {
		if items[i].dec.Matched {
			continue
		}
		fp := rules.Fingerprint(items[i].env.Message)
		key := a.o.Keys.Unhandled(strings.ToLower(hostOf(&items[i].env)), fp)
		g, ok := byKey[key]
		if !ok {
			g = len(groups)
			byKey[key] = g
			groups = append(groups, unhandledKey{key: key, fp: fp})
		}
		groups[g].items = append(groups[g].items, i)
	}
	if len(groups) == 0 {
		return nil, nil
	}
	threshold := a.o.Dyn.Int(dynconfig.UnhandledThreshold)
	window := int64(a.o.Dyn.Duration(dynconfig.UnhandledWindow).Seconds())
	fire := make([]int64, len(groups)) // 1-based position in the group's items, 0 for none
	todo := make([]int, len(groups))   // groups still to run
	for g := range todo {
		todo[g] = g
	}
	// Two rounds at most: the second only if the server lost the script
	// (NOSCRIPT: restart or SCRIPT FLUSH), after loading it again. A command
	// that got NOSCRIPT did not run, so re-running it counts nothing twice.
	for round := 0; len(todo) > 0; round++ {
		cmds := make([]*redis.Cmd, len(todo))
		// Per-command errors are examined below; the pipeline's own error is
		// the first of them.
		_, _ = a.o.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for k, g := range todo {
				args := make([]any, 0, 2+len(groups[g].items))
				args = append(args, threshold, window)
				for _, i := range groups[g].items {
					args = append(args, items[i].env.EventID)
				}
				cmds[k] = unhandledScript.EvalSha(ctx, p, []string{groups[g].key}, args...)
			}
			return nil
		})
		var again []int
		for k, g := range todo {
			cerr := cmds[k].Err()
			switch {
			case cerr == nil:
				fire[g], _ = cmds[k].Int64()
			case redis.HasErrorPrefix(cerr, "NOSCRIPT"):
				again = append(again, g)
			case isRedisReplyError(cerr):
				// A reply about this key alone (e.g. an operator overwrote it
				// with another type): counting is best effort, and one bad
				// key must not stall the shard.
				a.log.Warn("unhandled counting failed for one key", "key", groups[g].key, "err", cerr)
			default:
				return nil, fmt.Errorf("count unhandled events: %w", cerr)
			}
		}
		if len(again) > 0 {
			if round > 0 {
				return nil, fmt.Errorf("count unhandled events: script still missing after load")
			}
			if err := unhandledScript.Load(ctx, a.o.Redis).Err(); err != nil {
				return nil, fmt.Errorf("load unhandled script: %w", err)
			}
		}
		todo = again
	}
	var metas []event.Alert
	for g := range groups {
		if pos := fire[g]; pos >= 1 && int(pos) <= len(groups[g].items) {
			it := &items[groups[g].items[pos-1]]
			metas = append(metas, a.metaAlert(eng, &it.env, groups[g].fp, threshold, window))
		}
	}
	return metas, nil
}

func hostOf(e *event.Envelope) string {
	if e.Hostname == "" {
		return unmatchedHost
	}
	return e.Hostname
}

func (a *Alerter) metaAlert(eng *rules.Engine, e *event.Envelope, fp string, threshold, window int64) event.Alert {
	host := hostOf(e)
	team, ok := eng.Team(host)
	if !ok {
		team = a.o.Dyn.String(dynconfig.UnhandledDefaultTeam)
	}
	return event.Alert{
		EventID:       e.EventID,
		CorrelationID: e.CorrelationID,
		ReceivedAt:    e.ReceivedAt,
		EventTime:     e.Timestamp,
		Hostname:      host,
		Handling:      "meta",
		Environment:   eng.Environment(host),
		Team:          team,
		Description: "[MUTT] Detected " + strconv.FormatInt(threshold, 10) + " unhandled messages in " +
			strconv.FormatInt(window, 10) + "s from '" + host + "'. Sample message: " + truncateRunes(e.Message, metaSampleLen),
		Signature: "MUTT_Alerter:" + host + ":" + fp,
		Meta:      true,
		Original:  e.Original,
	}
}

func truncateRunes(s string, n int) string {
	if len(s) <= n { // n bytes hold at most n runes
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
