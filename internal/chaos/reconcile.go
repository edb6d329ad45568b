package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/stream"
)

// Deliveries tells how often Moogsoft accepted an external_id
// (*moogsim.Sim has it).
type Deliveries interface {
	Seen(externalID string) int
}

// Outcome is the reconciliation of a set of accepted events: what became of
// each, by MUTT's promise (docs/RELIABILITY.md). Every accepted event is
// counted in exactly one of Delivered, Ignored, Unhandled, DeadLettered or
// Lost.
type Outcome struct {
	Accepted     int
	Audited      int // events with an audit row
	Delivered    int // audited as forwarded and accepted by Moogsoft at least once
	Ignored      int // audited, not forwarded by their rule's handling (deliberately)
	Unhandled    int // matched no rule (by design neither audited nor delivered)
	DeadLettered int // in a dead-letter stream, with a reason
	Duplicates   int // deliveries beyond the first, summed over events
	// AuditedTwice lists events with more than one audit row (the promise is
	// exactly one).
	AuditedTwice []string
	// Lost lists events that are in none of the outcomes above, each with
	// what is missing.
	Lost []string
	// LostIDs are the event_ids of Lost, in the same order.
	LostIDs []string
	// DLQReasons counts dead-lettered events by stream and reason.
	DLQReasons map[string]int
}

// OK reports whether the promise held: nothing lost, nothing audited twice.
func (o Outcome) OK() bool { return len(o.Lost) == 0 && len(o.AuditedTwice) == 0 }

// DuplicateRate is duplicate deliveries per delivered event.
func (o Outcome) DuplicateRate() float64 {
	if o.Delivered == 0 {
		return 0
	}
	return float64(o.Duplicates) / float64(o.Delivered)
}

// String is a one-line summary.
func (o Outcome) String() string {
	return fmt.Sprintf("accepted %d, audited %d, delivered %d (duplicates %d, %.2f%%), ignored %d, unhandled %d, dead-lettered %d %v, audited twice %d, lost %d",
		o.Accepted, o.Audited, o.Delivered, o.Duplicates, 100*o.DuplicateRate(), o.Ignored, o.Unhandled,
		o.DeadLettered, o.DLQReasons, len(o.AuditedTwice), len(o.Lost))
}

// Examples returns up to n lost or twice-audited events, for a failure message.
func (o Outcome) Examples(n int) string {
	all := append(append([]string(nil), o.Lost...), o.AuditedTwice...)
	if len(all) > n {
		all = all[:n]
	}
	return strings.Join(all, "\n")
}

// Reconcile looks up every accepted event in the audit log (db), the
// Moogsoft deliveries and the dead-letter streams dlqs.
func Reconcile(ctx context.Context, db *pgxpool.Pool, rdb redis.UniversalClient, dlqs []string, moog Deliveries, accepted []Accepted) (Outcome, error) {
	o := Outcome{Accepted: len(accepted), DLQReasons: map[string]int{}}
	type audit struct {
		rows      int
		forwarded bool
	}
	audits := make(map[string]audit, len(accepted))
	const chunk = 10000
	for start := 0; start < len(accepted); start += chunk {
		end := min(start+chunk, len(accepted))
		ids := make([]string, 0, end-start)
		for _, a := range accepted[start:end] {
			ids = append(ids, a.ID)
		}
		rows, err := db.Query(ctx, `SELECT event_id::text, count(*), bool_or(forwarded_to_moog)
			FROM event_audit_log WHERE event_id = ANY($1::uuid[]) GROUP BY event_id`, ids)
		if err != nil {
			return o, fmt.Errorf("read the audit log: %w", err)
		}
		for rows.Next() {
			var id string
			var a audit
			if err := rows.Scan(&id, &a.rows, &a.forwarded); err != nil {
				rows.Close()
				return o, err
			}
			audits[id] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return o, fmt.Errorf("read the audit log: %w", err)
		}
	}
	dead, err := deadLettered(ctx, rdb, dlqs)
	if err != nil {
		return o, err
	}
	for _, ev := range accepted {
		a := audits[ev.ID]
		d := moog.Seen(ev.ID)
		if a.rows > 0 {
			o.Audited++
		}
		if a.rows > 1 {
			o.AuditedTwice = append(o.AuditedTwice, fmt.Sprintf("%s: %d audit rows", ev.ID, a.rows))
		}
		if d > 1 {
			o.Duplicates += d - 1
		}
		switch reason, isDead := dead[ev.ID]; {
		case isDead:
			o.DeadLettered++
			o.DLQReasons[reason]++
		case a.rows > 0 && a.forwarded && d > 0:
			o.Delivered++
		case a.rows > 0 && a.forwarded:
			o.LostIDs = append(o.LostIDs, ev.ID)
			o.Lost = append(o.Lost, fmt.Sprintf("%s (accepted %s): audited as forwarded, never reached Moogsoft, not dead-lettered",
				ev.ID, ev.At.Format("15:04:05.000")))
		case a.rows > 0:
			o.Ignored++
		case ev.Expect == Unhandled:
			o.Unhandled++
		case d > 0:
			o.LostIDs = append(o.LostIDs, ev.ID)
			o.Lost = append(o.Lost, fmt.Sprintf("%s (accepted %s): reached Moogsoft without an audit row",
				ev.ID, ev.At.Format("15:04:05.000")))
		default:
			o.LostIDs = append(o.LostIDs, ev.ID)
			o.Lost = append(o.Lost, fmt.Sprintf("%s (accepted %s): not audited, not delivered, not dead-lettered",
				ev.ID, ev.At.Format("15:04:05.000")))
		}
	}
	return o, nil
}

// deadLettered maps the event_id of every entry of the dead-letter streams to
// "<stream> <reason>".
func deadLettered(ctx context.Context, rdb redis.UniversalClient, dlqs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range dlqs {
		msgs, err := rdb.XRange(ctx, s, "-", "+").Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s, err)
		}
		for _, m := range msgs {
			reason, _ := m.Values["reason"].(string)
			raw, _ := m.Values[stream.Field].(string)
			for _, id := range eventIDs(raw) {
				out[id] = s + " " + reason
			}
		}
	}
	return out, nil
}

// eventIDs finds the event ids in a stream entry's data: an event or alert
// carries event_id and/or external_id; a batch is an array of those.
func eventIDs(raw string) []string {
	var one map[string]any
	if json.Unmarshal([]byte(raw), &one) == nil {
		return idsOf(one)
	}
	var many []map[string]any
	if json.Unmarshal([]byte(raw), &many) == nil {
		var ids []string
		for _, m := range many {
			ids = append(ids, idsOf(m)...)
		}
		return ids
	}
	return nil
}

func idsOf(m map[string]any) []string {
	var ids []string
	for _, k := range []string{"event_id", "external_id"} {
		if s, ok := m[k].(string); ok && s != "" {
			ids = append(ids, s)
		}
	}
	return ids
}
