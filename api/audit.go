package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mutt-ops/mutt/internal/event"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
	// defaultAuditWindow bounds /audit-logs when no start_date is given, so a
	// default request never scans every partition.
	defaultAuditWindow = 24 * time.Hour
)

// ConfigChange is a config_audit_log row; the list omits old/new values, the
// detail (/config-audit/{id}) includes them.
type ConfigChange struct {
	ID            int64     `json:"id"`
	ChangedAt     time.Time `json:"changed_at"`
	ChangedBy     string    `json:"changed_by"`
	Operation     string    `json:"operation"`
	TableName     string    `json:"table_name"`
	RecordID      string    `json:"record_id"`
	Reason        *string   `json:"reason"`
	CorrelationID *string   `json:"correlation_id"`
	OldValues     any       `json:"old_values,omitempty"`
	NewValues     any       `json:"new_values,omitempty"`
}

// EventAudit is an event_audit_log (or archive) row.
type EventAudit struct {
	ID               int64     `json:"id"`
	EventID          string    `json:"event_id"`
	EventTimestamp   time.Time `json:"event_timestamp"`
	ReceivedAt       time.Time `json:"received_at"`
	Hostname         string    `json:"hostname"`
	MatchedRuleID    *int      `json:"matched_rule_id"`
	HandlingDecision string    `json:"handling_decision"`
	ForwardedToMoog  bool      `json:"forwarded_to_moog"`
	TeamAssignment   *string   `json:"team_assignment"`
	Environment      *string   `json:"environment"`
	CorrelationID    *string   `json:"correlation_id"`
	RawMessage       *string   `json:"raw_message"`
	Archived         bool      `json:"archived"`
	// The syslog fields rules match on, read from raw_message when the event
	// has them (not stored apart: the audit keeps the event as it came).
	AppName      string `json:"app_name,omitempty"`
	Facility     *int   `json:"facility,omitempty"`
	FacilityName string `json:"facility_name,omitempty"`
}

// setSyslogFields fills the syslog fields of x from its raw_message.
func (x *EventAudit) setSyslogFields() {
	if x.RawMessage == nil || !strings.Contains(*x.RawMessage, `"app_name"`) && !strings.Contains(*x.RawMessage, `"facility"`) {
		return
	}
	var f struct {
		AppName  any `json:"app_name"`
		Facility any `json:"facility"`
	}
	if json.Unmarshal([]byte(*x.RawMessage), &f) != nil {
		return
	}
	if app, ok := f.AppName.(string); ok {
		x.AppName = app
	}
	var text string
	switch v := f.Facility.(type) {
	case float64:
		text = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		text = v
	}
	if n, err := event.ParseFacility(text); text != "" && err == nil {
		x.Facility, x.FacilityName = &n, event.FacilityName(n)
	}
}

type pagination struct {
	Page       int `json:"page"`
	PageSize   int `json:"page_size"`
	Total      int `json:"total"`
	TotalPages int `json:"total_pages"`
	// The Python MUTT's names of the same numbers, for its clients.
	Limit int `json:"limit"`
	Pages int `json:"pages"`
}

// newPagination fills both the names.
func newPagination(page, size, total int) pagination {
	n := totalPages(total, size)
	return pagination{Page: page, PageSize: size, Total: total, TotalPages: n, Limit: size, Pages: n}
}

func (s *Server) registerAudit(g *gin.RouterGroup, _ string) {
	g.GET("/config-audit", s.listConfigAudit)
	g.GET("/config-audit/:id", s.getConfigAudit)
	g.GET("/audit/config", s.listConfigAudit) // the seed's path; same answer and filters
	g.GET("/audit-logs", s.listEventAudit)
	// The Python MUTT's config audit query: {"logs": [...with old/new values],
	// "pagination": {page, limit, total, pages}}; changed_by matches a part.
	g.GET("/audit", func(c *gin.Context) { s.configAudit(c, true) })
}

// where accumulates parameterised conditions.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// textQuery reads a text filter. PostgreSQL holds no invalid UTF-8 or NUL,
// so such a value is a 400 rather than a failing query.
func textQuery(c *gin.Context, name string) (string, bool) {
	v := c.Query(name)
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		abort(c, http.StatusBadRequest, errInvalidQuery, name+": must be UTF-8 text without NUL characters")
		return "", false
	}
	return v, true
}

// parseDate accepts RFC 3339 or YYYY-MM-DD (UTC). A date-only end bound
// covers that whole day.
func parseDate(c *gin.Context, name string, end bool) (time.Time, bool, bool) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, false, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t, err = time.Parse(time.DateOnly, v)
		if err == nil && end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
	}
	// An offset can carry a date out of the years 0000-9999 in UTC, which
	// answers (window_start) cannot show in RFC 3339.
	if err != nil || t.UTC().Year() < 0 || t.UTC().Year() > 9999 {
		abort(c, http.StatusBadRequest, errInvalidQuery, name+": must be RFC 3339 or YYYY-MM-DD, within the years 0000-9999 UTC")
		return time.Time{}, false, false
	}
	return t, true, true
}

// pageParams reads page and page_size (limit is accepted as the peer's name).
func pageParams(c *gin.Context) (page, size int, ok bool) {
	page, size = 1, defaultPageSize
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			abort(c, http.StatusBadRequest, errInvalidQuery, "page: must be a positive integer")
			return 0, 0, false
		}
		page = n
	}
	name, v := "page_size", c.Query("page_size")
	if v == "" {
		name, v = "limit", c.Query("limit")
	}
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			abort(c, http.StatusBadRequest, errInvalidQuery, fmt.Sprintf("%s: must be an integer from 1 to %d", name, maxPageSize))
			return 0, 0, false
		}
		size = n
	}
	return page, size, true
}

func totalPages(total, size int) int { return (total + size - 1) / size }

// pageOffset is (page-1)*size, saturated: a page past the data is empty, not
// an overflow into a negative OFFSET.
func pageOffset(page, size int) int {
	if page-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (page - 1) * size
}

func (s *Server) listConfigAudit(c *gin.Context) { s.configAudit(c, false) }

// configAudit answers the config audit queries; legacy is the Python MUTT's
// /audit form.
func (s *Server) configAudit(c *gin.Context, legacy bool) {
	var w where
	for _, f := range []string{"changed_by", "table_name", "record_id", "operation"} {
		v, ok := textQuery(c, f)
		if !ok {
			return
		}
		if f == "operation" {
			v = strings.ToUpper(v)
			if legacy && v != "" && v != "CREATE" && v != "UPDATE" && v != "DELETE" {
				abort(c, http.StatusBadRequest, errInvalidQuery, "operation: must be CREATE, UPDATE or DELETE")
				return
			}
		}
		switch {
		case v == "":
		case legacy && f == "changed_by":
			w.add("strpos(lower(changed_by), lower(?)) > 0", v)
		default:
			w.add(f+" = ?", v)
		}
	}
	start, has, ok := parseDate(c, "start_date", false)
	if !ok {
		return
	}
	if has {
		w.add("changed_at >= ?", start)
	}
	end, has, ok := parseDate(c, "end_date", true)
	if !ok {
		return
	}
	if has {
		w.add("changed_at <= ?", end)
	}
	page, size, ok := pageParams(c)
	if !ok {
		return
	}
	var total int
	if err := s.o.DB.QueryRow(c, `SELECT count(*) FROM config_audit_log`+w.sql(), w.args...).Scan(&total); err != nil {
		s.dbFailure(c, "count config audit", err)
		return
	}
	args := append(w.args, size, pageOffset(page, size))
	rows, err := s.o.DB.Query(c, fmt.Sprintf(`SELECT id, changed_at, changed_by, operation, table_name, record_id,
        reason, correlation_id, old_values, new_values FROM config_audit_log%s ORDER BY changed_at DESC, id DESC LIMIT $%d OFFSET $%d`,
		w.sql(), len(w.args)+1, len(w.args)+2), args...)
	if err != nil {
		s.dbFailure(c, "list config audit", err)
		return
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConfigChange, error) {
		var x ConfigChange
		var oldV, newV []byte
		err := r.Scan(&x.ID, &x.ChangedAt, &x.ChangedBy, &x.Operation, &x.TableName, &x.RecordID, &x.Reason, &x.CorrelationID,
			&oldV, &newV)
		x.ChangedAt = x.ChangedAt.UTC()
		if legacy {
			// The Python form always carries both, null when absent.
			x.OldValues, x.NewValues = json.RawMessage("null"), json.RawMessage("null")
			if oldV != nil {
				x.OldValues = json.RawMessage(oldV)
			}
			if newV != nil {
				x.NewValues = json.RawMessage(newV)
			}
		}
		return x, err
	})
	if err != nil {
		s.dbFailure(c, "list config audit", err)
		return
	}
	if changes == nil {
		changes = []ConfigChange{}
	}
	if legacy {
		c.JSON(http.StatusOK, gin.H{"logs": changes, "pagination": newPagination(page, size, total)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"changes": changes,
		"pagination": newPagination(page, size, total)})
}

func (s *Server) getConfigAudit(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusBadRequest, errInvalidID, "id: must be a positive integer")
		return
	}
	var x ConfigChange
	var oldV, newV []byte
	err = s.o.DB.QueryRow(c, `SELECT id, changed_at, changed_by, operation, table_name, record_id, reason,
        correlation_id, old_values, new_values FROM config_audit_log WHERE id = $1`, id).
		Scan(&x.ID, &x.ChangedAt, &x.ChangedBy, &x.Operation, &x.TableName, &x.RecordID, &x.Reason, &x.CorrelationID,
			&oldV, &newV)
	if errors.Is(err, pgx.ErrNoRows) {
		abort(c, http.StatusNotFound, errNotFound, fmt.Sprintf("config audit entry %d not found", id))
		return
	}
	if err != nil {
		s.dbFailure(c, "get config audit", err)
		return
	}
	x.ChangedAt = x.ChangedAt.UTC()
	// Always present in the detail (null for the missing side of a create/delete).
	c.JSON(http.StatusOK, gin.H{"id": x.ID, "changed_at": x.ChangedAt, "changed_by": x.ChangedBy,
		"operation": x.Operation, "table_name": x.TableName, "record_id": x.RecordID, "reason": x.Reason,
		"correlation_id": x.CorrelationID, "old_values": rawOrNull(oldV), "new_values": rawOrNull(newV)})
}

func rawOrNull(b []byte) any {
	if b == nil {
		return nil
	}
	return jsonRaw(b)
}

// jsonRaw embeds stored JSONB as is.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

// eventCursor is the keyset position: the last row's (event_timestamp, event_id).
func encodeCursor(e EventAudit) string {
	return base64.RawURLEncoding.EncodeToString([]byte(e.EventTimestamp.Format(time.RFC3339Nano) + "|" + e.EventID))
}

func decodeCursor(s string) (time.Time, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	ts, id, found := strings.Cut(string(raw), "|")
	if !found {
		return time.Time{}, uuid.Nil, errors.New("no separator")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	u, err := uuid.Parse(id)
	return t, u, err
}

const eventColumns = `id, event_id::text, event_timestamp, received_at, hostname, matched_rule_id, handling_decision,
    forwarded_to_moog, team_assignment, environment, correlation_id, raw_message`

// listEventAudit answers /audit-logs. Without start_date it covers the last
// 24 h (defaultAuditWindow). Offset pages by default; with after=<cursor> it
// pages by keyset on (event_timestamp, event_id) descending, which stays
// fast for deep pages. include_archive=true adds event_audit_log_archive.
func (s *Server) listEventAudit(c *gin.Context) {
	var w where
	hostname, ok := textQuery(c, "hostname")
	if !ok {
		return
	}
	if hostname != "" {
		w.add("hostname = ?", hostname)
	}
	if v := c.Query("rule_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32) // matched_rule_id is an INT
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "rule_id: must be an integer from -2147483648 to 2147483647")
			return
		}
		w.add("matched_rule_id = ?", n)
	}
	if v := c.Query("event_id"); v != "" {
		u, err := uuid.Parse(v)
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "event_id: must be a UUID")
			return
		}
		w.add("event_id = ?", u)
	}
	corr, ok := textQuery(c, "correlation_id")
	if !ok {
		return
	}
	if corr != "" {
		w.add("correlation_id = ?", corr)
	}
	if !eventFilters(c, &w) {
		return
	}
	start, hasStart, ok := parseDate(c, "start_date", false)
	if !ok {
		return
	}
	end, has, ok := parseDate(c, "end_date", true)
	if !ok {
		return
	}
	if has {
		w.add("event_timestamp <= ?", end)
	}
	archive := false
	if v := c.Query("include_archive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "include_archive: must be true or false")
			return
		}
		archive = b
	}
	// Without start_date the list covers the last 24 h, so a default request
	// never scans every partition; a lookup by event or correlation id, and a
	// search of the archive (old by definition), cover all time.
	var windowStart *time.Time
	switch {
	case hasStart:
		windowStart = &start
	case c.Query("event_id") == "" && corr == "" && !archive:
		start = s.o.Now().Add(-defaultAuditWindow)
		windowStart = &start
	}
	if windowStart != nil {
		w.add("event_timestamp >= ?", *windowStart)
		utc := windowStart.UTC()
		windowStart = &utc
	}
	page, size, ok := pageParams(c)
	if !ok {
		return
	}
	// The count ignores the cursor, so the keyset conditions are a copy.
	keyset := where{conds: append([]string(nil), w.conds...), args: append([]any(nil), w.args...)}
	after := c.Query("after")
	if after != "" {
		ts, id, err := decodeCursor(after)
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "after: not a cursor returned by this endpoint")
			return
		}
		keyset.args = append(keyset.args, ts, id)
		keyset.conds = append(keyset.conds, fmt.Sprintf("(event_timestamp, event_id) < ($%d, $%d)",
			len(keyset.args)-1, len(keyset.args)))
	}
	from := func(wh where) string {
		q := `SELECT ` + eventColumns + `, false AS archived FROM event_audit_log` + wh.sql()
		if archive {
			q += ` UNION ALL SELECT ` + eventColumns + `, true FROM event_audit_log_archive` + wh.sql()
		}
		return q
	}
	q := fmt.Sprintf(`SELECT * FROM (%s) e ORDER BY event_timestamp DESC, event_id DESC LIMIT $%d`,
		from(keyset), len(keyset.args)+1)
	args := append(keyset.args, size)
	if after == "" {
		q += fmt.Sprintf(" OFFSET $%d", len(args)+1)
		args = append(args, pageOffset(page, size))
	}
	rows, err := s.o.DB.Query(c, q, args...)
	if err != nil {
		s.dbFailure(c, "list event audit", err)
		return
	}
	logs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventAudit, error) {
		var x EventAudit
		err := r.Scan(&x.ID, &x.EventID, &x.EventTimestamp, &x.ReceivedAt, &x.Hostname, &x.MatchedRuleID,
			&x.HandlingDecision, &x.ForwardedToMoog, &x.TeamAssignment, &x.Environment, &x.CorrelationID,
			&x.RawMessage, &x.Archived)
		x.EventTimestamp, x.ReceivedAt = x.EventTimestamp.UTC(), x.ReceivedAt.UTC()
		x.setSyslogFields()
		return x, err
	})
	if err != nil {
		s.dbFailure(c, "list event audit", err)
		return
	}
	if logs == nil {
		logs = []EventAudit{}
	}
	resp := gin.H{"logs": logs, "window_start": windowStart}
	if len(logs) == size {
		resp["next_cursor"] = encodeCursor(logs[len(logs)-1])
	} else {
		resp["next_cursor"] = nil
	}
	if after == "" {
		var total int
		if err := s.o.DB.QueryRow(c, `SELECT count(*) FROM (`+from(w)+`) e`, w.args...).Scan(&total); err != nil {
			s.dbFailure(c, "count event audit", err)
			return
		}
		resp["pagination"] = newPagination(page, size, total)
	}
	c.JSON(http.StatusOK, resp)
}
