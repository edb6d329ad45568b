package alert

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
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
	raw            [][]byte // the original event, as the envelope holds it
	item           []int    // index in the batch's items of each row
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
		correlationID: make([]string, 0, n), raw: make([][]byte, 0, n), item: make([]int, 0, n),
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
		r.raw = append(r.raw, it.env.Original)
		r.item = append(r.item, i)
	}
	return r
}

func (r *auditRows) len() int { return len(r.item) }

// args returns the statement arguments for rows [lo, hi).
func (r *auditRows) args(lo, hi int) []any {
	raw := make([]string, 0, hi-lo)
	for _, b := range r.raw[lo:hi] {
		raw = append(raw, string(b))
	}
	return []any{r.eventID[lo:hi], r.eventTimestamp[lo:hi], r.receivedAt[lo:hi], r.hostname[lo:hi],
		r.ruleID[lo:hi], r.handling[lo:hi], r.forwarded[lo:hi], r.team[lo:hi], r.environment[lo:hi],
		r.correlationID[lo:hi], raw}
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

// auditColumns are the columns copyAudit writes, in appendCopy's order.
var auditColumns = []string{"event_id", "event_timestamp", "received_at", "hostname", "matched_rule_id",
	"handling_decision", "forwarded_to_moog", "team_assignment", "environment", "correlation_id", "raw_message"}

// copyAuditSQL copies rows in PostgreSQL's binary format (appendCopy).
var copyAuditSQL = "COPY event_audit_log (" + strings.Join(auditColumns, ", ") + ") FROM STDIN (FORMAT binary)"

// copyBufs are the encoded batches' buffers, reused.
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

// copyAudit writes the rows with one COPY, encoded here (appendCopy) rather
// than by pgx's CopyFrom, which asks PostgreSQL for the column types first
// (a round trip per batch) and plans the encoding of every value (17 % of
// the alerter's CPU at saturation, ADR 0050).
func (a *Alerter) copyAudit(ctx context.Context, rows *auditRows) error {
	start := time.Now()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf, err := rows.appendCopy((*bp)[:0])
	*bp = buf
	if err != nil {
		return err
	}
	conn, err := a.o.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err = conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), copyAuditSQL); err != nil {
		return err
	}
	a.m.dbWriteMillis.Observe(float64(time.Since(start).Microseconds()) / 1000)
	return nil
}

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// microseconds.
const pgEpochMicros = 946_684_800_000_000

// appendCopy appends the rows to buf in PostgreSQL's binary COPY format
// (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"):
// the signature, flags and header extension length; per row the number of
// fields and each field as its length (-1: NULL) and its binary value, in
// the columns' types — uuid, timestamptz (microseconds since pgEpochMicros),
// varchar and text (UTF-8 bytes; PostgreSQL checks them), int4, bool; then
// the trailer. An empty team or correlation id is NULL, as insertAudit
// stores it.
func (r *auditRows) appendCopy(buf []byte) ([]byte, error) {
	be := binary.BigEndian
	buf = append(buf, "PGCOPY\n\xff\r\n\x00"...)
	buf = be.AppendUint32(be.AppendUint32(buf, 0), 0)
	// Every value's length fits the format's int32: each comes from one
	// stream entry, and a Redis value holds at most 512 MiB.
	text := func(buf []byte, s string) []byte {
		return append(be.AppendUint32(buf, uint32(len(s))), s...) // #nosec G115 -- ≤ 512 MiB, see text
	}
	orNull := func(buf []byte, s string) []byte {
		if s == "" {
			return be.AppendUint32(buf, math.MaxUint32) // -1
		}
		return text(buf, s)
	}
	ts := func(buf []byte, t time.Time) []byte {
		return be.AppendUint64(be.AppendUint32(buf, 8), uint64(t.UnixMicro()-pgEpochMicros)) // #nosec G115 -- an int64 in two's complement, as the format has it
	}
	for i := range r.len() {
		if r.ruleID[i] < math.MinInt32 || r.ruleID[i] > math.MaxInt32 {
			return buf, fmt.Errorf("matched_rule_id %d out of the column's range", r.ruleID[i])
		}
		buf = be.AppendUint16(buf, 11) // fields: len(auditColumns)
		buf = append(be.AppendUint32(buf, 16), r.eventID[i][:]...)
		buf = ts(buf, r.eventTimestamp[i])
		buf = ts(buf, r.receivedAt[i])
		buf = text(buf, r.hostname[i])
		buf = be.AppendUint32(be.AppendUint32(buf, 4), uint32(int32(r.ruleID[i]))) // #nosec G115 -- range checked above
		buf = text(buf, r.handling[i])
		forwarded := byte(0)
		if r.forwarded[i] {
			forwarded = 1
		}
		buf = append(be.AppendUint32(buf, 1), forwarded)
		buf = orNull(buf, r.team[i])
		buf = text(buf, r.environment[i])
		buf = orNull(buf, r.correlationID[i])
		buf = append(be.AppendUint32(buf, uint32(len(r.raw[i]))), r.raw[i]...) // #nosec G115 -- ≤ 512 MiB, see text
	}
	return be.AppendUint16(buf, math.MaxUint16), nil // -1: the end
}

func (a *Alerter) execAudit(ctx context.Context, rows *auditRows, lo, hi int) error {
	start := time.Now()
	_, err := a.o.DB.Exec(ctx, insertAudit, rows.args(lo, hi)...)
	if err == nil {
		a.m.dbWriteMillis.Observe(float64(time.Since(start).Microseconds()) / 1000)
	}
	return err
}
