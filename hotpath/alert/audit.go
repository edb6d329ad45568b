package alert

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// insertAudit writes every row of the batch in one statement; the arrays are
// unnested server-side. ON CONFLICT makes a redelivered event (same event_id
// and timestamp) a no-op, so redelivery never makes a second row.
const insertAudit = `INSERT INTO event_audit_log (event_id, event_timestamp, received_at, hostname,
	matched_rule_id, handling_decision, forwarded_to_moog, team_assignment, environment, correlation_id, raw_message)
SELECT u.event_id, u.event_timestamp, u.received_at, u.hostname, u.matched_rule_id, u.handling_decision,
	u.forwarded_to_moog, NULLIF(u.team_assignment, ''), u.environment, NULLIF(u.correlation_id, ''), u.raw_message
FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::int8[], $6::text[], $7::bool[],
	$8::text[], $9::text[], $10::text[], $11::text[])
	AS u(event_id, event_timestamp, received_at, hostname, matched_rule_id, handling_decision, forwarded_to_moog,
	team_assignment, environment, correlation_id, raw_message)
ON CONFLICT (event_id, event_timestamp) DO NOTHING`

// auditRows is the batch in column form, as insertAudit takes it.
type auditRows struct {
	// [16]byte, not uuid.UUID: pgx encodes a [][16]byte array directly, but
	// a slice of a driver.Valuer element through reflection and each
	// element's string form — 11 % of the alerter's CPU at saturation.
	eventID        [][16]byte
	eventTimestamp []time.Time
	receivedAt     []time.Time
	hostname       []string
	ruleID         []int64
	handling       []string
	forwarded      []bool
	team           []string
	environment    []string
	correlationID  []string
	raw            []string
	item           []int // index in the batch's items of each row
}

// newAuditRows takes the matched items, in event_id order: batches in flight
// at the same time then take their row locks in the same order, so two
// batches carrying the same redelivered events wait for each other instead
// of deadlocking (and UUIDv7 ids in order fill the primary key's index
// sequentially).
func newAuditRows(items []item) *auditRows {
	matched := make([]int, 0, len(items))
	for i := range items {
		if items[i].dec.Matched {
			matched = append(matched, i)
		}
	}
	slices.SortFunc(matched, func(x, y int) int { return bytes.Compare(items[x].id[:], items[y].id[:]) })
	n := len(matched)
	r := &auditRows{
		eventID: make([][16]byte, 0, n), eventTimestamp: make([]time.Time, 0, n), receivedAt: make([]time.Time, 0, n),
		hostname: make([]string, 0, n), ruleID: make([]int64, 0, n), handling: make([]string, 0, n),
		forwarded: make([]bool, 0, n), team: make([]string, 0, n), environment: make([]string, 0, n),
		correlationID: make([]string, 0, n), raw: make([]string, 0, n), item: make([]int, 0, n),
	}
	for _, i := range matched {
		it := &items[i]
		r.eventID = append(r.eventID, [16]byte(it.id))
		r.eventTimestamp = append(r.eventTimestamp, it.env.Timestamp)
		r.receivedAt = append(r.receivedAt, it.env.ReceivedAt)
		r.hostname = append(r.hostname, it.env.Hostname)
		r.ruleID = append(r.ruleID, it.dec.Rule.ID)
		r.handling = append(r.handling, it.dec.Rule.StoredHandling(it.dec.Environment))
		r.forwarded = append(r.forwarded, it.dec.Forward)
		r.team = append(r.team, it.dec.Team)
		r.environment = append(r.environment, it.dec.Environment)
		r.correlationID = append(r.correlationID, it.env.CorrelationID)
		r.raw = append(r.raw, string(it.env.Original))
		r.item = append(r.item, i)
	}
	return r
}

func (r *auditRows) len() int { return len(r.item) }

// args returns the statement arguments for rows [lo, hi).
func (r *auditRows) args(lo, hi int) []any {
	return []any{r.eventID[lo:hi], r.eventTimestamp[lo:hi], r.receivedAt[lo:hi], r.hostname[lo:hi],
		r.ruleID[lo:hi], r.handling[lo:hi], r.forwarded[lo:hi], r.team[lo:hi], r.environment[lo:hi],
		r.correlationID[lo:hi], r.raw[lo:hi]}
}

// rejectedRow is a row PostgreSQL refused, with its reason.
type rejectedRow struct {
	item int
	err  error
}

// writeAudit writes the rows: first with one COPY, the cheapest way into
// PostgreSQL (BenchmarkAuditWrite: 9.7-10.4 us of PostgreSQL CPU per row
// against 11.8-13.6 for the INSERT, and less encoding here). A COPY is all or
// nothing, so when any row is already there (a redelivered batch, or a retry
// after a commit whose reply was lost) it fails on the primary key and writes
// nothing; so does a row PostgreSQL rejects. Either way the batch is then
// written with insertAudit, whose ON CONFLICT skips the rows already there:
// still exactly one row per event (ADR 0047). When PostgreSQL rejects the
// data (isDataError) there too, it inserts them one by one to find the bad
// rows and returns those; the good ones are written. Any other error is
// returned for the caller to retry the step.
func (a *Alerter) writeAudit(ctx context.Context, rows *auditRows) ([]rejectedRow, error) {
	if rows.len() == 0 {
		return nil, nil
	}
	err := a.copyAudit(ctx, rows)
	if err == nil {
		return nil, nil
	}
	if !isDataError(err) {
		return nil, fmt.Errorf("copy %d audit rows: %w", rows.len(), err)
	}
	err = a.execAudit(ctx, rows, 0, rows.len())
	if err == nil {
		return nil, nil
	}
	if !isDataError(err) {
		return nil, fmt.Errorf("write %d audit rows: %w", rows.len(), err)
	}
	a.log.Warn("audit batch rejected, writing row by row to find the bad rows", "rows", rows.len(), "err", err)
	var rejected []rejectedRow
	for i := range rows.len() {
		err := a.execAudit(ctx, rows, i, i+1)
		switch {
		case err == nil:
		case isDataError(err):
			rejected = append(rejected, rejectedRow{item: rows.item[i], err: err})
		default:
			return nil, fmt.Errorf("write audit row %d of %d: %w", i+1, rows.len(), err)
		}
	}
	return rejected, nil
}

// auditColumns are the columns copyAudit writes, in auditSource's order.
var auditColumns = []string{"event_id", "event_timestamp", "received_at", "hostname", "matched_rule_id",
	"handling_decision", "forwarded_to_moog", "team_assignment", "environment", "correlation_id", "raw_message"}

func (a *Alerter) copyAudit(ctx context.Context, rows *auditRows) error {
	start := time.Now()
	_, err := a.o.DB.CopyFrom(ctx, pgx.Identifier{"event_audit_log"}, auditColumns, &auditSource{rows: rows, i: -1})
	if err == nil {
		a.m.dbWriteMillis.Observe(float64(time.Since(start).Microseconds()) / 1000)
	}
	return err
}

// auditSource hands the rows to CopyFrom as insertAudit stores them (an
// empty team or correlation id is NULL), reusing one row of values: pgx
// encodes each row before it asks for the next.
type auditSource struct {
	rows *auditRows
	i    int
	row  [11]any
}

func (s *auditSource) Next() bool { s.i++; return s.i < s.rows.len() }

func (s *auditSource) Values() ([]any, error) {
	r, i := s.rows, s.i
	var team, corr any
	if r.team[i] != "" {
		team = r.team[i]
	}
	if r.correlationID[i] != "" {
		corr = r.correlationID[i]
	}
	s.row = [11]any{r.eventID[i], r.eventTimestamp[i], r.receivedAt[i], r.hostname[i], r.ruleID[i], r.handling[i],
		r.forwarded[i], team, r.environment[i], corr, r.raw[i]}
	return s.row[:], nil
}

func (s *auditSource) Err() error { return nil }

func (a *Alerter) execAudit(ctx context.Context, rows *auditRows, lo, hi int) error {
	start := time.Now()
	_, err := a.o.DB.Exec(ctx, insertAudit, rows.args(lo, hi)...)
	if err == nil {
		a.m.dbWriteMillis.Observe(float64(time.Since(start).Microseconds()) / 1000)
	}
	return err
}
