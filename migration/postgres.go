package migration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mutt-ops/mutt/schema"
)

// PythonSchema is where the Python MUTT's tables, views and functions are kept
// after adoption, untouched, until Finalize drops them or Rollback puts them back.
const PythonSchema = "python_v25"

// lockID serialises `mutt migrate from-python` runs (schema.Up has its own lock).
const lockID = 0x6d757475

// mintPrefix and archiveMintPrefix start the event_id minted for a Python audit
// row: a version-8 UUID whose last 48 bits are the row's old id, so a rerun
// mints the same id and ON CONFLICT makes the copy idempotent.
const (
	mintPrefix        = "00000000-0000-8000-8000-"
	archiveMintPrefix = "00000000-0000-8000-8001-"
)

// pythonTables are the Python MUTT's tables, in the order they are set aside.
var pythonTables = []string{"alert_rules", "development_hosts", "device_teams", "config_audit_log",
	"event_audit_log", "event_audit_log_archive"}

// pythonViewsAndFunctions are the other Python objects that carry names we use or
// that would act on our tables if a Python cron job still ran them.
var pythonViews = []string{"partition_health_summary"}
var pythonFunctions = []string{"create_monthly_partition", "drop_old_partitions", "archive_old_events",
	"get_archive_statistics", "delete_old_archives"}

// Options tune FromPython.
type Options struct {
	DryRun     bool
	BatchSize  int // audit rows per transaction (default 50000)
	MaxBatches int // stop after this many audit batches (0: all); rerun to continue
	Now        time.Time
	Log        *slog.Logger
}

// TableReport is what happened to one table.
type TableReport struct {
	Table   string   `json:"table"`
	Source  int64    `json:"source_rows"`
	Target  int64    `json:"migrated_rows"`
	Skipped int64    `json:"skipped_rows"`
	Status  string   `json:"status"` // planned | copied | in_progress | mismatch | absent
	Notes   []string `json:"notes,omitempty"`
}

// PGReport is the PostgreSQL part of a migration report.
type PGReport struct {
	Detected          string        `json:"detected"`
	Tables            []TableReport `json:"tables"`
	PartitionsCreated []string      `json:"partitions_created,omitempty"`
	Notes             []string      `json:"notes,omitempty"`
	Complete          bool          `json:"complete"`
}

func (r *PGReport) table(name string) *TableReport {
	for i := range r.Tables {
		if r.Tables[i].Table == name {
			return &r.Tables[i]
		}
	}
	r.Tables = append(r.Tables, TableReport{Table: name})
	return &r.Tables[len(r.Tables)-1]
}

// ErrNotPython is returned when the database holds no Python MUTT schema to adopt.
var ErrNotPython = errors.New("no Python MUTT schema found (public.alert_rules without MUTT's columns, or schema " + PythonSchema + ")")

// FromPython adopts a Python MUTT v2.3/v2.5 database in place. It is safe to
// rerun: every step is idempotent and the audit copy resumes where it stopped.
func FromPython(ctx context.Context, db *pgxpool.Pool, o Options) (*PGReport, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 50000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID) }()

	rep := &PGReport{}
	inPublic, err := schema.IsPythonDatabase(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	setAside, err := exists(ctx, db, PythonSchema+".alert_rules")
	if err != nil {
		return nil, err
	}
	src := PythonSchema
	switch {
	case inPublic && setAside:
		return nil, fmt.Errorf("both public.alert_rules (Python form) and %s.alert_rules exist: resolve by hand before migrating", PythonSchema)
	case inPublic:
		src = "public"
	case !setAside:
		return nil, ErrNotPython
	}
	if err := describe(ctx, db, src, rep); err != nil {
		return nil, err
	}
	if o.DryRun {
		return rep, plan(ctx, db, src, rep, o)
	}
	if inPublic {
		if err := setAsidePython(ctx, db); err != nil {
			return rep, err
		}
		rep.Notes = append(rep.Notes, "Python tables, views and functions moved to schema "+PythonSchema+" (kept until --finalize)")
	}
	if _, err := schema.Up(ctx, db, o.Now); err != nil {
		return rep, err
	}
	if err := copySmallTables(ctx, db, rep); err != nil {
		return rep, err
	}
	if err := copyAudit(ctx, db, rep, o, auditCopy); err != nil {
		return rep, err
	}
	if err := copyAudit(ctx, db, rep, o, archiveCopy); err != nil {
		return rep, err
	}
	rep.Complete = true
	for _, t := range rep.Tables {
		if t.Status != "copied" && t.Status != "absent" {
			rep.Complete = false
		}
	}
	return rep, nil
}

func exists(ctx context.Context, db *pgxpool.Pool, rel string) (bool, error) {
	var ok bool
	if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, rel).Scan(&ok); err != nil {
		return false, fmt.Errorf("inspect %s: %w", rel, err)
	}
	return ok, nil
}

func count(ctx context.Context, db *pgxpool.Pool, sql string, args ...any) (int64, error) {
	var n int64
	if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count (%s): %w", strings.Fields(sql)[0], err)
	}
	return n, nil
}

// describe fills the detected flavour and the source row counts.
func describe(ctx context.Context, db *pgxpool.Pool, src string, rep *PGReport) error {
	var kind string
	var parts int
	err := db.QueryRow(ctx, `SELECT c.relkind::text, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
		FROM pg_class c WHERE c.oid = to_regclass($1)`, src+".event_audit_log").Scan(&kind, &parts)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		rep.Detected = "Python MUTT without event_audit_log"
	case err != nil:
		return fmt.Errorf("inspect event_audit_log: %w", err)
	case kind == "p":
		rep.Detected = fmt.Sprintf("Python MUTT v2.5 (event_audit_log partitioned, %d partitions)", parts)
	default:
		rep.Detected = "Python MUTT v2.3 (event_audit_log not partitioned)"
	}
	if src == PythonSchema {
		rep.Detected += ", already set aside in schema " + PythonSchema + " (resuming)"
	}
	for _, t := range pythonTables {
		tr := rep.table(t)
		ok, err := exists(ctx, db, src+"."+t)
		if err != nil {
			return err
		}
		if !ok {
			tr.Status = "absent"
			continue
		}
		tr.Status = "planned"
		if tr.Source, err = count(ctx, db, `SELECT count(*) FROM `+src+`.`+t); err != nil {
			return err
		}
	}
	return nil
}

// ourRuleCheck is migration 0001's chk_match_criteria: a rule must carry what
// its match type needs. Python rules failing it could never match in v2.5
// either (the Python matcher needed the same fields); they stay in the Python
// schema and are listed in the report.
const ourRuleCheck = `((match_type = 'oid_prefix' AND trap_oid IS NOT NULL AND trap_oid <> '')
	OR (match_type IN ('contains', 'regex') AND match_string IS NOT NULL AND match_string <> ''))`

// canonicalHandling is SQL for col in its one stored spelling when it is a
// handling word MUTT knows in any case ("PAGE_AND_TICKET" -> "Page_and_ticket",
// as migration 0004 and the API store it); any other word is copied as it is
// (ruleNotes reports it).
func canonicalHandling(col string) string {
	return `CASE WHEN lower(btrim(` + col + `)) IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
		THEN upper(left(btrim(` + col + `), 1)) || lower(substr(btrim(` + col + `), 2)) ELSE ` + col + ` END`
}

// plan adds to a dry-run report what a run would do.
func plan(ctx context.Context, db *pgxpool.Pool, src string, rep *PGReport, o Options) error {
	if err := ruleNotes(ctx, db, src, rep); err != nil {
		return err
	}
	if ok, _ := exists(ctx, db, src+".event_audit_log"); ok {
		from, months, err := auditMonths(ctx, db, src+".event_audit_log")
		if err != nil {
			return err
		}
		tr := rep.table("event_audit_log")
		if months > 0 {
			tr.Notes = append(tr.Notes, fmt.Sprintf("would ensure %d monthly partitions from %s and copy in %d batches of %d",
				months, schema.PartitionName(from), (tr.Source+int64(o.BatchSize)-1)/int64(o.BatchSize), o.BatchSize))
		}
	}
	rep.Notes = append(rep.Notes, "dry run: nothing was changed")
	return nil
}

func ruleNotes(ctx context.Context, db *pgxpool.Pool, src string, rep *PGReport) error {
	tr := rep.table("alert_rules")
	if tr.Status == "absent" {
		return nil
	}
	rows, err := db.Query(ctx, `SELECT id, match_type, coalesce(match_string, ''), NOT `+ourRuleCheck+`,
		lower(btrim(prod_handling)) NOT IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
		OR lower(btrim(dev_handling)) NOT IN ('page_and_ticket', 'page_only', 'ticket_only', 'ignore')
		FROM `+src+`.alert_rules ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var mt, ms string
		var invalid, oddHandling bool
		if err := rows.Scan(&id, &mt, &ms, &invalid, &oddHandling); err != nil {
			return fmt.Errorf("read rules: %w", err)
		}
		switch {
		case invalid:
			tr.Skipped++
			tr.Notes = append(tr.Notes, fmt.Sprintf("rule %d not imported: a %s rule without what it matches on could never match (kept in %s.alert_rules)", id, mt, PythonSchema))
		case mt == "regex":
			if _, err := regexp.Compile("(?i)" + ms); err != nil {
				tr.Notes = append(tr.Notes, fmt.Sprintf("rule %d imported, but its regex is not RE2 syntax and the alerter skips it until fixed: %v", id, err))
			}
		}
		if oddHandling {
			tr.Notes = append(tr.Notes, fmt.Sprintf("rule %d imported with a handling word MUTT does not know; such events are audited, not forwarded", id))
		}
	}
	return rows.Err()
}

// auditMonths is the first month and the number of months spanned by table's rows.
func auditMonths(ctx context.Context, db *pgxpool.Pool, table string) (time.Time, int, error) {
	var lo, hi *time.Time
	if err := db.QueryRow(ctx, `SELECT min(event_timestamp), max(event_timestamp) FROM `+table).Scan(&lo, &hi); err != nil {
		return time.Time{}, 0, fmt.Errorf("audit time range: %w", err)
	}
	if lo == nil {
		return time.Time{}, 0, nil
	}
	from, to := schema.MonthStart(*lo), schema.MonthStart(*hi)
	months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
	return from, months, nil
}

// setAsidePython moves the Python objects from public to PythonSchema in one
// transaction, with a state table for the resumable steps.
func setAsidePython(ctx context.Context, db *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		stmts := []string{`CREATE SCHEMA IF NOT EXISTS ` + PythonSchema,
			`CREATE TABLE ` + PythonSchema + `.mutt_migration_state (
				step TEXT PRIMARY KEY, last_id BIGINT NOT NULL DEFAULT 0, copied BIGINT NOT NULL DEFAULT 0,
				updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`}
		// Partitions first (moving a parent does not move them).
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = to_regclass('public.event_audit_log')`)
		if err != nil {
			return fmt.Errorf("list partitions: %w", err)
		}
		parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list partitions: %w", err)
		}
		for _, p := range parts {
			stmts = append(stmts, `ALTER TABLE public.`+pgx.Identifier{p}.Sanitize()+` SET SCHEMA `+PythonSchema)
		}
		for _, v := range pythonViews {
			stmts = append(stmts, `ALTER VIEW IF EXISTS public.`+v+` SET SCHEMA `+PythonSchema)
		}
		for _, t := range pythonTables {
			stmts = append(stmts, `ALTER TABLE IF EXISTS public.`+t+` SET SCHEMA `+PythonSchema)
		}
		frows, err := tx.Query(ctx, `SELECT p.oid::regprocedure::text FROM pg_proc p
			WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`, pythonFunctions)
		if err != nil {
			return fmt.Errorf("list functions: %w", err)
		}
		funcs, err := pgx.CollectRows(frows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list functions: %w", err)
		}
		for _, f := range funcs {
			stmts = append(stmts, `ALTER FUNCTION `+f+` SET SCHEMA `+PythonSchema)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("set aside the Python schema (%s): %w", s, err)
			}
		}
		return nil
	})
}

// copySmallTables copies rules, dev hosts, teams and the config audit, keeping
// their ids, and checks that every source row arrived (or was skipped on purpose).
func copySmallTables(ctx context.Context, db *pgxpool.Pool, rep *PGReport) error {
	if err := ruleNotes(ctx, db, PythonSchema, rep); err != nil {
		return err
	}
	type step struct{ table, insert, missing, seq string }
	steps := []step{
		{"alert_rules", `INSERT INTO public.alert_rules (id, match_string, trap_oid, syslog_severity, match_type, priority,
				prod_handling, dev_handling, team_assignment, is_active)
			SELECT id, match_string, trap_oid, syslog_severity, match_type, priority, ` + canonicalHandling("prod_handling") + `,
				` + canonicalHandling("dev_handling") + `, team_assignment, is_active FROM ` + PythonSchema + `.alert_rules WHERE ` + ourRuleCheck + `
			ON CONFLICT (id) DO NOTHING`,
			`SELECT count(*) FROM ` + PythonSchema + `.alert_rules s WHERE NOT EXISTS (SELECT 1 FROM public.alert_rules t WHERE t.id = s.id)`,
			"alert_rules"},
		{"development_hosts", `INSERT INTO public.development_hosts (hostname) SELECT lower(hostname) FROM ` + PythonSchema + `.development_hosts
			ON CONFLICT DO NOTHING`,
			`SELECT count(*) FROM ` + PythonSchema + `.development_hosts s WHERE NOT EXISTS (SELECT 1 FROM public.development_hosts t WHERE lower(t.hostname) = lower(s.hostname))`, ""},
		{"device_teams", `INSERT INTO public.device_teams (hostname, team_assignment) SELECT lower(hostname), team_assignment FROM ` + PythonSchema + `.device_teams
			ON CONFLICT DO NOTHING`,
			`SELECT count(*) FROM ` + PythonSchema + `.device_teams s WHERE NOT EXISTS (SELECT 1 FROM public.device_teams t WHERE lower(t.hostname) = lower(s.hostname))`, ""},
		{"config_audit_log", `INSERT INTO public.config_audit_log (id, changed_at, changed_by, operation, table_name, record_id,
				old_values, new_values, reason, correlation_id)
			SELECT id, changed_at, changed_by, operation, table_name, record_id::text, old_values, new_values, reason,
				left(correlation_id, 64) FROM ` + PythonSchema + `.config_audit_log ON CONFLICT (id) DO NOTHING`,
			`SELECT count(*) FROM ` + PythonSchema + `.config_audit_log s WHERE NOT EXISTS (SELECT 1 FROM public.config_audit_log t WHERE t.id = s.id)`,
			"config_audit_log"},
	}
	for _, s := range steps {
		tr := rep.table(s.table)
		if tr.Status == "absent" {
			continue
		}
		if _, err := db.Exec(ctx, s.insert); err != nil {
			return fmt.Errorf("copy %s: %w", s.table, err)
		}
		if s.seq != "" {
			// New rows made by MUTT must not reuse a Python id (not even a skipped rule's).
			if _, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('public.`+s.seq+`', 'id'),
				GREATEST((SELECT max(id) FROM public.`+s.seq+`), (SELECT max(id) FROM `+PythonSchema+`.`+s.seq+`), 1))`); err != nil {
				return fmt.Errorf("advance %s id sequence: %w", s.table, err)
			}
		}
		missing, err := count(ctx, db, s.missing)
		if err != nil {
			return err
		}
		tr.Target = tr.Source - missing
		tr.Status = "copied"
		if missing != tr.Skipped {
			tr.Status = "mismatch"
			tr.Notes = append(tr.Notes, fmt.Sprintf("%d source rows are missing, %d were meant to be skipped", missing, tr.Skipped))
		}
	}
	return nil
}

// auditKind describes one of the two audit copies.
type auditKind struct {
	table, mint, mintFrom string
	insert                string // INSERT … SELECT … FROM b (the batch)
}

var auditCopy = auditKind{table: "event_audit_log", mint: mintPrefix, mintFrom: "id",
	insert: `INSERT INTO public.event_audit_log (id, event_id, event_timestamp, received_at, hostname, matched_rule_id,
		handling_decision, forwarded_to_moog, correlation_id, raw_message)
	SELECT id, (` + mintSQL(mintPrefix, "id") + `), event_timestamp, event_timestamp, hostname, matched_rule_id,
		handling_decision, forwarded_to_moog, ` + correlationSQL + `, raw_message
	FROM ` + withCID + ` ON CONFLICT DO NOTHING RETURNING 1`}

// An archived row keeps the identity of the event it came from when the
// Python archiver recorded it (original_id), so it can never meet itself twice.
var archiveCopy = auditKind{table: "event_audit_log_archive", mint: archiveMintPrefix,
	insert: `INSERT INTO public.event_audit_log_archive (id, event_id, event_timestamp, received_at, hostname, matched_rule_id,
		handling_decision, forwarded_to_moog, correlation_id, raw_message, archived_at, archived_from_partition)
	SELECT id, (CASE WHEN original_id IS NULL THEN ` + mintSQL(archiveMintPrefix, "id") + ` ELSE ` + mintSQL(mintPrefix, "original_id") + ` END),
		event_timestamp, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog,
		` + correlationSQL + `, raw_message, archived_at, left(archived_from_partition, 63)
	FROM ` + withCID + ` ON CONFLICT DO NOTHING RETURNING 1`}

// correlationSQL lifts the Python `_correlation_id` (1 to 64 characters) out of
// raw_message. It means substring(raw_message from '"_correlation_id":
// ?"([^"]{1,64})"') but costs a tenth: PostgreSQL's regex engine spends about
// 90 µs a row on the bounded repetition {1,64} (it was 85 % of the copy's CPU),
// 11 µs on the unbounded one. withCID computes the unbounded match (cid) once
// per row; when it is 1 to 64 characters long it is what the bounded pattern
// finds (both match leftmost, at the same place), when there is none the
// bounded pattern finds none either, and only otherwise (an empty or longer
// value, then perhaps a later good one) the bounded pattern runs.
const (
	withCID        = `(SELECT b.*, substring(b.raw_message from '"_correlation_id": ?"([^"]*)"') AS cid FROM b OFFSET 0) b`
	correlationSQL = `(CASE WHEN length(cid) BETWEEN 1 AND 64 THEN cid WHEN cid IS NULL THEN NULL
		ELSE substring(raw_message from '"_correlation_id": ?"([^"]{1,64})"') END)`
)

func mintSQL(prefix, col string) string {
	return `('` + prefix + `' || lpad(to_hex(` + col + `), 12, '0'))::uuid`
}

// copyAudit copies one audit table in batches ordered by id. Each batch and
// its progress commit together, so an interrupted run resumes after the last
// committed batch; the minted event_id makes a repeated batch a no-op.
func copyAudit(ctx context.Context, db *pgxpool.Pool, rep *PGReport, o Options, k auditKind) error {
	tr := rep.table(k.table)
	if tr.Status == "absent" {
		return nil
	}
	src := PythonSchema + "." + k.table
	var maxID int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM `+src).Scan(&maxID); err != nil {
		return fmt.Errorf("%s: %w", k.table, err)
	}
	if maxID >= 1<<48 {
		return fmt.Errorf("%s: id %d does not fit the minted event_id (48 bits)", k.table, maxID)
	}
	if _, err := db.Exec(ctx, `INSERT INTO `+PythonSchema+`.mutt_migration_state (step) VALUES ($1) ON CONFLICT DO NOTHING`, k.table); err != nil {
		return fmt.Errorf("%s progress: %w", k.table, err)
	}
	if k.table == "event_audit_log" {
		// Keyset batches need an index on id (the v2.3 plain table may lack one).
		if _, err := db.Exec(ctx, `CREATE INDEX IF NOT EXISTS mutt_migration_audit_id ON `+src+` (id)`); err != nil {
			return fmt.Errorf("index %s: %w", src, err)
		}
		from, months, err := auditMonths(ctx, db, src)
		if err != nil {
			return err
		}
		if months > 0 {
			created, err := schema.EnsurePartitions(ctx, db, from, months)
			if err != nil {
				return err
			}
			rep.PartitionsCreated = append(rep.PartitionsCreated, created...)
		}
		// MUTT's own rows (written while the copy runs) must not reuse a Python id.
		if _, err := db.Exec(ctx, `SELECT setval(pg_get_serial_sequence('public.event_audit_log', 'id'),
			GREATEST($1, (SELECT last_value FROM `+`public.event_audit_log_id_seq`+`)))`, max(maxID, 1)); err != nil {
			return fmt.Errorf("advance event_audit_log id sequence: %w", err)
		}
	}
	batch := `WITH b AS (SELECT * FROM ` + src + ` WHERE id > $1 ORDER BY id LIMIT $2), ins AS (` + k.insert + `)
		SELECT count(*), coalesce(max(id), $1), (SELECT count(*) FROM ins) FROM b`
	for n := 0; o.MaxBatches == 0 || n < o.MaxBatches; n++ {
		var read, last, inserted int64
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var after int64
			if err := tx.QueryRow(ctx, `SELECT last_id FROM `+PythonSchema+`.mutt_migration_state WHERE step = $1 FOR UPDATE`, k.table).Scan(&after); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, batch, after, o.BatchSize).Scan(&read, &last, &inserted); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE `+PythonSchema+`.mutt_migration_state SET last_id = $2, copied = copied + $3, updated_at = now()
				WHERE step = $1`, k.table, last, inserted)
			return err
		})
		if err != nil {
			return fmt.Errorf("copy %s batch: %w", k.table, err)
		}
		if read == 0 {
			break
		}
		o.Log.Info("copied audit batch", "table", k.table, "rows", read, "last_id", last)
	}
	var last int64
	if err := db.QueryRow(ctx, `SELECT last_id FROM `+PythonSchema+`.mutt_migration_state WHERE step = $1`, k.table).Scan(&last); err != nil {
		return fmt.Errorf("%s progress: %w", k.table, err)
	}
	// The check counts distinct minted keys: a duplicate in the source (the
	// Python enforcer could archive a row twice) is one row here, and said so.
	distinct, err := count(ctx, db, `SELECT count(*) FROM (SELECT DISTINCT `+k.mintKey()+`, event_timestamp FROM `+src+` s) d`)
	if err != nil {
		return err
	}
	// Minted ids sort together and never meet MUTT's own (UUIDv7, time first).
	if tr.Target, err = count(ctx, db, `SELECT count(*) FROM public.`+k.table+` WHERE event_id BETWEEN $1 AND $2`,
		mintPrefix+"000000000000", archiveMintPrefix+"ffffffffffff"); err != nil {
		return err
	}
	tr.Skipped = tr.Source - distinct
	switch {
	case last < maxID:
		tr.Status = "in_progress"
		tr.Notes = append(tr.Notes, fmt.Sprintf("copied up to id %d of %d; rerun to continue", last, maxID))
	case tr.Target == distinct:
		tr.Status = "copied"
	default:
		tr.Status = "mismatch"
		tr.Notes = append(tr.Notes, fmt.Sprintf("%d distinct source rows, %d in MUTT's table", distinct, tr.Target))
	}
	if tr.Skipped > 0 {
		tr.Notes = append(tr.Notes, fmt.Sprintf("%d duplicate source rows (same id and time) became one row each", tr.Skipped))
	}
	return nil
}

// mintKey is what the minted event_id is a one-to-one function of: counting
// distinct keys counts distinct minted ids without building a UUID from text
// for every row (a tenth of the time; the Python primary key (id,
// event_timestamp) answers it from its index).
func (k auditKind) mintKey() string {
	if k.table == "event_audit_log" {
		return "s.id"
	}
	return "s.original_id IS NULL, coalesce(s.original_id, s.id)"
}
