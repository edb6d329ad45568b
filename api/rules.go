package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

// Rule is an alert_rules row as the API shows it.
type Rule struct {
	ID             int       `json:"id"`
	MatchString    *string   `json:"match_string"`
	TrapOID        *string   `json:"trap_oid"`
	SyslogSeverity *int      `json:"syslog_severity"`
	AppName        *string   `json:"app_name"` // syslog APP-NAME / tag, compared case-insensitively
	Facility       *int      `json:"facility"` // syslog facility 0-23
	MatchType      string    `json:"match_type"`
	Priority       int       `json:"priority"`
	ProdHandling   string    `json:"prod_handling"`
	DevHandling    string    `json:"dev_handling"`
	TeamAssignment string    `json:"team_assignment"`
	IsActive       bool      `json:"is_active"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ruleResponse is a written rule plus the Python MUTT's message and
// non-fatal validation warnings.
type ruleResponse struct {
	Rule
	Message  string   `json:"message"`
	Warnings []string `json:"warnings,omitempty"`
}

// The Python MUTT's answers to rule writes (peer-management §2.3 #13-15),
// kept in both versions beside the stored rule.
const (
	msgRuleCreated = "Rule created successfully"
	msgRuleUpdated = "Rule updated successfully"
	msgRuleDeleted = "Rule deleted successfully"
)

// ruleInput is a POST/PUT body. Pointers tell "absent" from "zero".
type ruleInput struct {
	MatchString    *string         `json:"match_string"`
	TrapOID        *string         `json:"trap_oid"`
	SyslogSeverity *int            `json:"syslog_severity"`
	AppName        *string         `json:"app_name"`
	Facility       json.RawMessage `json:"facility"` // 0-23 or a keyword such as "local4"
	MatchType      *string         `json:"match_type"`
	Priority       *int            `json:"priority"`
	ProdHandling   *string         `json:"prod_handling"`
	DevHandling    *string         `json:"dev_handling"`
	TeamAssignment *string         `json:"team_assignment"`
	IsActive       *bool           `json:"is_active"`
	Version        *int            `json:"version"`
	reasonField
	readOnlyFields
}

// rulePatch is a PATCH body: only enable/disable.
type rulePatch struct {
	IsActive *bool `json:"is_active"`
	Version  *int  `json:"version"`
	reasonField
}

const ruleColumns = `id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling,
    dev_handling, team_assignment, is_active, version, created_at, updated_at, app_name, facility`

var (
	oidPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
	// Handlings are the handling words a rule may carry, as stored.
	Handlings = rules.Handlings
)

const (
	maxLongText  = 255
	maxShortText = 100
	maxPriority  = 100000
	tableRules   = "alert_rules"
	tableDev     = "development_hosts"
	tableTeams   = "device_teams"
)

func (s *Server) registerRules(g, admin *gin.RouterGroup, version string) {
	g.GET("/rules", s.listRules)
	g.GET("/rules/:id", s.getRule)
	admin.POST("/rules", s.createRule)
	admin.PUT("/rules/:id", func(c *gin.Context) { s.updateRule(c, version) })
	admin.PATCH("/rules/:id", s.patchRule)
	admin.DELETE("/rules/:id", s.deleteRule)
}

type ruleRow interface{ Scan(dest ...any) error }

func scanRule(r ruleRow) (Rule, error) {
	var x Rule
	err := r.Scan(&x.ID, &x.MatchString, &x.TrapOID, &x.SyslogSeverity, &x.MatchType, &x.Priority,
		&x.ProdHandling, &x.DevHandling, &x.TeamAssignment, &x.IsActive, &x.Version, &x.CreatedAt, &x.UpdatedAt,
		&x.AppName, &x.Facility)
	x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	return x, err
}

func (s *Server) listRules(c *gin.Context) {
	asArray, ok := rulesListFormat(c)
	if !ok {
		return
	}
	q := `SELECT ` + ruleColumns + ` FROM alert_rules WHERE true`
	var args []any
	if v := c.Query("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidQuery, "active must be true or false")
			return
		}
		args = append(args, b)
		q += fmt.Sprintf(" AND is_active = $%d", len(args))
	}
	team, ok := textQuery(c, "team")
	if !ok {
		return
	}
	if team != "" {
		args = append(args, team)
		q += fmt.Sprintf(" AND team_assignment = $%d", len(args))
	}
	q += " ORDER BY priority, id"
	began := time.Now()
	rows, err := s.o.DB.Query(c, q, args...)
	if err != nil {
		s.dbFailure(c, "list rules", err)
		return
	}
	rules := []Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			rows.Close()
			s.dbFailure(c, "scan rule", err)
			return
		}
		rules = append(rules, r)
	}
	if err := rows.Err(); err != nil {
		s.dbFailure(c, "list rules", err)
		return
	}
	s.pyDBLatency.WithLabelValues("get_rules").Observe(float64(time.Since(began).Microseconds()) / 1000)
	if asArray {
		// The bare array MUTT's v1 answered before ADR 0026, kept for
		// scripts written against it.
		c.JSON(http.StatusOK, rules)
		return
	}
	// Both versions answer the Python MUTT's {"rules":[…]} (ADR 0026).
	c.JSON(http.StatusOK, gin.H{"rules": rules, "total": len(rules)})
}

// rulesListFormat reads ?format=: object (default, {"rules":[…],"total":N})
// or array (the bare array MUTT's v1 answered before ADR 0026).
func rulesListFormat(c *gin.Context) (asArray, ok bool) {
	switch v := c.Query("format"); v {
	case "", "object":
		return false, true
	case "array":
		return true, true
	default:
		abort(c, http.StatusBadRequest, errInvalidQuery, "format: "+quoteShort(v)+" is not object or array")
		return false, false
	}
}

func ruleID(c *gin.Context) (int, bool) {
	id, err := strconv.Atoi(c.Param("id"))
	if err != nil || id <= 0 {
		abort(c, http.StatusBadRequest, errInvalidID, "rule id must be a positive integer")
		return 0, false
	}
	if id > math.MaxInt32 { // alert_rules.id is an INT: no such rule
		abort(c, http.StatusNotFound, errNotFound, fmt.Sprintf("rule %d not found", id))
		return 0, false
	}
	return id, true
}

func (s *Server) getRule(c *gin.Context) {
	id, ok := ruleID(c)
	if !ok {
		return
	}
	r, err := scanRule(s.o.DB.QueryRow(c, `SELECT `+ruleColumns+` FROM alert_rules WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		abort(c, http.StatusNotFound, errNotFound, fmt.Sprintf("rule %d not found", id))
		return
	}
	if err != nil {
		s.dbFailure(c, "get rule", err)
		return
	}
	setVersionETag(c, r.Version)
	c.JSON(http.StatusOK, r)
}

func setVersionETag(c *gin.Context, version int) {
	c.Header("ETag", fmt.Sprintf("%q", strconv.Itoa(version)))
}

// validate turns a body into a rule (ID, version and timestamps unset) and
// warnings; it checks what the alerter needs so a stored rule can always match.
func (in ruleInput) validate() (Rule, []string, error) {
	var r Rule
	var warns []string
	r.MatchType = "contains"
	if in.MatchType != nil {
		r.MatchType = strings.ToLower(strings.TrimSpace(*in.MatchType))
	}
	switch r.MatchType {
	case "contains", "regex", "oid_prefix":
	default:
		return r, nil, &fieldErr{"match_type", "must be one of contains, regex, oid_prefix"}
	}
	var err error
	if r.AppName, err = cleanText("app_name", in.AppName, false, maxLongText); err != nil {
		return r, nil, err
	}
	if r.Facility, err = parseFacility(in.Facility); err != nil {
		return r, nil, err
	}
	// A contains rule narrowed by app_name or facility may leave its text
	// empty: it then matches every message of that app or facility.
	needText := r.MatchType == "regex" || (r.MatchType == "contains" && r.AppName == nil && r.Facility == nil)
	if r.MatchString, err = cleanText("match_string", in.MatchString, needText, maxLongText); err != nil {
		var fe *fieldErr
		if r.MatchType == "contains" && errors.As(err, &fe) {
			err = &fieldErr{"match_string", fe.msg + " (or narrow the rule by app_name or facility)"}
		}
		return r, nil, err
	}
	if r.MatchType == "regex" {
		// Compiled exactly as the alerter compiles it (RE2, case-insensitive).
		if _, err := regexp.Compile("(?i)" + *r.MatchString); err != nil {
			return r, nil, &fieldErr{"match_string", "is not a valid regular expression: " + err.Error()}
		}
	}
	if r.TrapOID, err = cleanText("trap_oid", in.TrapOID, r.MatchType == "oid_prefix", maxLongText); err != nil {
		return r, nil, err
	}
	if r.TrapOID != nil {
		oid := strings.TrimPrefix(*r.TrapOID, ".")
		if !oidPattern.MatchString(oid) {
			return r, nil, &fieldErr{"trap_oid", "must be dotted digits such as 1.3.6.1.4.1"}
		}
		r.TrapOID = &oid
	}
	if in.SyslogSeverity != nil && (*in.SyslogSeverity < 0 || *in.SyslogSeverity > 7) {
		return r, nil, &fieldErr{"syslog_severity", "must be between 0 and 7 or null"}
	}
	r.SyslogSeverity = in.SyslogSeverity
	r.Priority = 100
	if in.Priority != nil {
		if *in.Priority < 0 || *in.Priority > maxPriority {
			return r, nil, &fieldErr{"priority", fmt.Sprintf("must be between 0 and %d", maxPriority)}
		}
		r.Priority = *in.Priority
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"prod_handling", in.ProdHandling, &r.ProdHandling}, {"dev_handling", in.DevHandling, &r.DevHandling}} {
		v, err := cleanText(f.name, f.in, true, maxShortText)
		if err != nil {
			return r, nil, err
		}
		// One spelling is stored: the Python MUTT's "Page_and_ticket"
		// (migration 0004 rewrote the rows written in another case). Any
		// case is accepted.
		h, ok := rules.CanonicalHandling(*v)
		if !ok {
			return r, nil, &fieldErr{f.name, "must be one of " + strings.Join(Handlings, ", ") + " (any case)"}
		}
		*f.out = h
	}
	team, err := cleanText("team_assignment", in.TeamAssignment, true, maxShortText)
	if err != nil {
		return r, nil, err
	}
	r.TeamAssignment = *team
	r.IsActive = true
	if in.IsActive != nil {
		r.IsActive = *in.IsActive
	}
	return r, warns, nil
}

// parseFacility reads the facility of a rule body: null or absent, a code
// 0-23, or a keyword such as "auth" or "local4" (stored as its code).
func parseFacility(raw json.RawMessage) (*int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, &fieldErr{"facility", "must be a number 0-23 or a name such as auth or local4"}
	}
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return nil, &fieldErr{"facility", "must be a number 0-23 or a name such as auth or local4"}
	}
	n, err := event.ParseFacility(text)
	if err != nil {
		return nil, &fieldErr{"facility", err.Error()}
	}
	return &n, nil
}

func (s *Server) createRule(c *gin.Context) {
	var in ruleInput
	if !decodeResourceBody(c, &in) {
		return
	}
	r, warns, err := in.validate()
	if err != nil {
		answerInvalid(c, err)
		return
	}
	var out Rule
	err = pgx.BeginFunc(c, s.o.DB, func(tx pgx.Tx) error {
		var err error
		out, err = scanRule(tx.QueryRow(c, `INSERT INTO alert_rules (match_string, trap_oid, syslog_severity,
            match_type, priority, prod_handling, dev_handling, team_assignment, is_active, app_name, facility)
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING `+ruleColumns,
			r.MatchString, r.TrapOID, r.SyslogSeverity, r.MatchType, r.Priority, r.ProdHandling, r.DevHandling,
			r.TeamAssignment, r.IsActive, r.AppName, r.Facility))
		if err != nil {
			return fmt.Errorf("insert rule: %w", err)
		}
		return writeConfigAudit(c, tx, AuditEntry{ChangedBy: caller(c), Operation: "CREATE", TableName: tableRules,
			RecordID: strconv.Itoa(out.ID), Reason: changeReason(c, in.Reason), CorrelationID: correlationID(c), New: out})
	})
	if err != nil {
		s.dbFailure(c, "create rule", err)
		return
	}
	publishRulesUpdate(context.WithoutCancel(c), s.o.Redis, s.o.Keys)
	setVersionETag(c, out.Version)
	warns = append(warns, s.findingsAbout(c, out.ID)...)
	c.JSON(http.StatusCreated, ruleResponse{Rule: out, Message: msgRuleCreated, Warnings: warns})
}

// expectedVersion reads the client's version: If-Match wins (412 when stale),
// else the body's version (409 when stale). Neither → 428 Precondition
// Required (RFC 6585), so a client cannot overwrite blindly.
func expectedVersion(c *gin.Context, body *int, required bool) (v int, status int, ok bool) {
	if h := strings.TrimSpace(c.GetHeader("If-Match")); h != "" {
		h = strings.TrimPrefix(h, "W/")
		n, err := strconv.Atoi(strings.Trim(h, `"`))
		if err != nil {
			abort(c, http.StatusBadRequest, errInvalidHeader, `If-Match must be "<version>"`)
			return 0, 0, false
		}
		return n, http.StatusPreconditionFailed, true
	}
	if body != nil {
		return *body, http.StatusConflict, true
	}
	if required {
		abort(c, http.StatusPreconditionRequired, errPreconditionReq,
			`version: send the rule's current version in the body or an If-Match: "<version>" header`)
		return 0, 0, false
	}
	return 0, 0, true
}

// lockRule loads a rule FOR UPDATE and checks the expected version.
func lockRule(ctx context.Context, tx pgx.Tx, id, want, staleStatus int) (Rule, error) {
	old, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM alert_rules WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return old, &writeRefused{http.StatusNotFound, errNotFound, fmt.Sprintf("rule %d not found", id)}
	}
	if err != nil {
		return old, fmt.Errorf("lock rule %d: %w", id, err)
	}
	if staleStatus != 0 && old.Version != want {
		return old, &writeRefused{staleStatus, errVersionConflict,
			fmt.Sprintf("rule %d is at version %d, not %d: reload it and retry", id, old.Version, want)}
	}
	return old, nil
}

func (s *Server) updateRule(c *gin.Context, version string) {
	id, ok := ruleID(c)
	if !ok {
		return
	}
	raw, ok := bufferBody(c)
	if !ok {
		return
	}
	var in ruleInput
	if !decodeResourceBody(c, &in) {
		return
	}
	// v1 keeps the Python MUTT's PUT (ADR 0027): only the fields sent
	// change, and a version is checked when one is sent. v2 replaces the
	// whole rule and requires the version.
	partial := version == "v1"
	want, stale, ok := expectedVersion(c, in.Version, !partial)
	if !ok {
		return
	}
	var present map[string]bool
	if partial {
		if present = ruleFieldsPresent(raw); len(present) == 0 {
			abort(c, http.StatusBadRequest, errInvalidBody, "no fields to update: send at least one of "+strings.Join(ruleFieldNames, ", "))
			return
		}
	} else if _, _, err := in.validate(); err != nil {
		answerInvalid(c, err)
		return
	}
	s.writeRule(c, id, want, stale, in.Reason, msgRuleUpdated, func(ctx context.Context, tx pgx.Tx, old Rule) (Rule, []string, error) {
		body := in
		if partial {
			body = in.keepUnsent(old, present)
		}
		r, warns, err := body.validate()
		if err != nil {
			return Rule{}, nil, refusedInvalid(err)
		}
		out, err := scanRule(tx.QueryRow(ctx, `UPDATE alert_rules SET match_string=$2, trap_oid=$3, syslog_severity=$4,
            match_type=$5, priority=$6, prod_handling=$7, dev_handling=$8, team_assignment=$9, is_active=$10,
            app_name=$11, facility=$12, version = version + 1, updated_at = now() WHERE id = $1 RETURNING `+ruleColumns,
			id, r.MatchString, r.TrapOID, r.SyslogSeverity, r.MatchType, r.Priority, r.ProdHandling, r.DevHandling,
			r.TeamAssignment, r.IsActive, r.AppName, r.Facility))
		return out, warns, err
	})
}

// ruleFieldNames are the rule fields a v1 PUT may send (the Python MUTT's
// nine plus app_name and facility).
var ruleFieldNames = []string{"match_string", "trap_oid", "syslog_severity", "app_name", "facility", "match_type",
	"priority", "prod_handling", "dev_handling", "team_assignment", "is_active"}

// ruleFieldsPresent lists the rule fields a (decoded, valid) body carries,
// null ones included: null clears an optional field.
func ruleFieldsPresent(raw []byte) map[string]bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	present := map[string]bool{}
	for _, f := range ruleFieldNames {
		if _, ok := m[f]; ok {
			present[f] = true
		}
	}
	return present
}

// keepUnsent fills the fields a v1 PUT did not send from the stored rule.
func (in ruleInput) keepUnsent(old Rule, present map[string]bool) ruleInput {
	if !present["match_string"] {
		in.MatchString = old.MatchString
	}
	if !present["trap_oid"] {
		in.TrapOID = old.TrapOID
	}
	if !present["syslog_severity"] {
		in.SyslogSeverity = old.SyslogSeverity
	}
	if !present["app_name"] {
		in.AppName = old.AppName
	}
	if !present["facility"] && old.Facility != nil {
		in.Facility = json.RawMessage(strconv.Itoa(*old.Facility))
	}
	if !present["match_type"] || in.MatchType == nil {
		in.MatchType = &old.MatchType
	}
	if !present["priority"] || in.Priority == nil {
		in.Priority = &old.Priority
	}
	if !present["prod_handling"] {
		in.ProdHandling = &old.ProdHandling
	}
	if !present["dev_handling"] {
		in.DevHandling = &old.DevHandling
	}
	if !present["team_assignment"] {
		in.TeamAssignment = &old.TeamAssignment
	}
	if !present["is_active"] || in.IsActive == nil {
		in.IsActive = &old.IsActive
	}
	return in
}

// refusedInvalid turns a validation error found inside a write transaction
// into its 400.
func refusedInvalid(err error) error {
	var fe *fieldErr
	if errors.As(err, &fe) {
		return &writeRefused{http.StatusBadRequest, errInvalidField, fe.Error()}
	}
	return &writeRefused{http.StatusBadRequest, errInvalidBody, err.Error()}
}

func (s *Server) patchRule(c *gin.Context) {
	id, ok := ruleID(c)
	if !ok {
		return
	}
	var in rulePatch
	if !decodeResourceBody(c, &in) {
		return
	}
	if in.IsActive == nil {
		abort(c, http.StatusBadRequest, errInvalidField, "is_active: is required (true or false)")
		return
	}
	want, stale, ok := expectedVersion(c, in.Version, true)
	if !ok {
		return
	}
	s.writeRule(c, id, want, stale, in.Reason, msgRuleUpdated, func(ctx context.Context, tx pgx.Tx, _ Rule) (Rule, []string, error) {
		out, err := scanRule(tx.QueryRow(ctx, `UPDATE alert_rules SET is_active = $2, version = version + 1,
            updated_at = now() WHERE id = $1 RETURNING `+ruleColumns, id, *in.IsActive))
		return out, nil, err
	})
}

// writeRule runs an UPDATE under the version check, audits it in the same
// transaction, and publishes after commit.
func (s *Server) writeRule(c *gin.Context, id, want, stale int, reason, message string,
	update func(context.Context, pgx.Tx, Rule) (Rule, []string, error)) {
	var out Rule
	var warns []string
	err := pgx.BeginFunc(c, s.o.DB, func(tx pgx.Tx) error {
		old, err := lockRule(c, tx, id, want, stale)
		if err != nil {
			return err
		}
		if out, warns, err = update(c, tx, old); err != nil {
			return fmt.Errorf("update rule %d: %w", id, err)
		}
		return writeConfigAudit(c, tx, AuditEntry{ChangedBy: caller(c), Operation: "UPDATE", TableName: tableRules,
			RecordID: strconv.Itoa(id), Reason: changeReason(c, reason), CorrelationID: correlationID(c), Old: old, New: out})
	})
	if s.answerWriteError(c, "update rule", err) {
		return
	}
	publishRulesUpdate(context.WithoutCancel(c), s.o.Redis, s.o.Keys)
	setVersionETag(c, out.Version)
	warns = append(warns, s.findingsAbout(c, out.ID)...)
	c.JSON(http.StatusOK, ruleResponse{Rule: out, Message: message, Warnings: warns})
}

func (s *Server) deleteRule(c *gin.Context) {
	id, ok := ruleID(c)
	if !ok {
		return
	}
	want, stale, ok := expectedVersion(c, nil, false)
	if !ok {
		return
	}
	reason, ok := deleteReason(c)
	if !ok {
		return
	}
	err := pgx.BeginFunc(c, s.o.DB, func(tx pgx.Tx) error {
		// matched_rule_id in the event audit has no foreign key (ADR 0003), so a
		// rule that has matched events deletes like any other.
		old, err := lockRule(c, tx, id, want, stale)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(c, `DELETE FROM alert_rules WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete rule %d: %w", id, err)
		}
		return writeConfigAudit(c, tx, AuditEntry{ChangedBy: caller(c), Operation: "DELETE", TableName: tableRules,
			RecordID: strconv.Itoa(id), Reason: reason, CorrelationID: correlationID(c), Old: old})
	})
	if s.answerWriteError(c, "delete rule", err) {
		return
	}
	publishRulesUpdate(context.WithoutCancel(c), s.o.Redis, s.o.Keys)
	c.JSON(http.StatusOK, gin.H{"message": msgRuleDeleted, "id": id})
}
