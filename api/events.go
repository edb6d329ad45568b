package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
)

// validHandling is what a handling filter may be: a handling word as rules
// store it (any case; the audit keeps the operator's spelling).
var validHandling = regexp.MustCompile(`^[A-Za-z_]{1,100}$`)

// parseHandling checks the handling filter of /audit-logs.
func parseHandling(v string) error {
	if v != "" && !validHandling.MatchString(v) {
		return fmt.Errorf("handling: must be a handling word such as page_and_ticket, ticket_only or ignore (letters and _, at most 100)")
	}
	return nil
}

// eventFilters adds the event browser's filters of /audit-logs to w:
// handling (case-insensitive) and forwarded (true or false).
func eventFilters(c *gin.Context, w *where) bool {
	h := c.Query("handling")
	if err := parseHandling(h); err != nil {
		abort(c, http.StatusBadRequest, errInvalidQuery, err.Error())
		return false
	}
	if h != "" {
		w.add("lower(handling_decision) = lower(?)", h)
	}
	if v := c.Query("forwarded"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "forwarded: must be true or false")
			return false
		}
		w.add("forwarded_to_moog = ?", b)
	}
	return true
}

// RuleHits is how often one rule matched in the window.
type RuleHits struct {
	RuleID   int       `json:"rule_id"`
	Hits     int64     `json:"hits"`
	LastSeen time.Time `json:"last_seen"` // event_timestamp of its newest match, UTC
}

// maxHitsWindow bounds hours of /audit-logs/rule-hits (31 days).
const maxHitsWindow = 31 * 24

// parseHours reads hours (default 24).
func parseHours(v string) (int, error) {
	if v == "" {
		return 24, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxHitsWindow {
		return 0, fmt.Errorf("hours: must be an integer from 1 to %d", maxHitsWindow)
	}
	return n, nil
}

func (s *Server) registerEvents(g *gin.RouterGroup, _ string) {
	g.GET("/audit-logs/rule-hits", s.ruleHits)
}

// ruleHits answers how often each rule matched in the last hours (from the
// event audit log), for the rules page's "recent matches" column.
func (s *Server) ruleHits(c *gin.Context) {
	hours, err := parseHours(c.Query("hours"))
	if err != nil {
		abort(c, http.StatusBadRequest, errInvalidQuery, err.Error())
		return
	}
	start := s.o.Now().UTC().Add(-time.Duration(hours) * time.Hour)
	rows, err := s.o.DB.Query(c, `SELECT matched_rule_id, count(*), max(event_timestamp) FROM event_audit_log
        WHERE event_timestamp >= $1 AND matched_rule_id IS NOT NULL GROUP BY matched_rule_id ORDER BY matched_rule_id`, start)
	if err != nil {
		s.dbFailure(c, "count rule hits", err)
		return
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RuleHits, error) {
		var h RuleHits
		err := r.Scan(&h.RuleID, &h.Hits, &h.LastSeen)
		h.LastSeen = h.LastSeen.UTC()
		return h, err
	})
	if err != nil {
		s.dbFailure(c, "count rule hits", err)
		return
	}
	if hits == nil {
		hits = []RuleHits{}
	}
	c.JSON(http.StatusOK, gin.H{"window_start": start, "hours": hours, "hits": hits})
}
