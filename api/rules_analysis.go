package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

// Rule analysis (GET /rules/analysis) and the draft-rule test (POST
// /rules/test): both run the alerter's own engine (internal/rules), so what
// they say is what the pipeline would do. The web UI and muttdev share them.

const (
	defaultTestEvents = 200
	maxTestEvents     = 2000
	maxTestMatches    = 50 // matches listed in full; the count covers them all
)

// engineRule is the engine's view of a stored or draft rule.
func engineRule(r Rule) rules.Rule {
	er := rules.Rule{ID: int64(r.ID), MatchType: r.MatchType, Priority: r.Priority, ProdHandling: r.ProdHandling,
		DevHandling: r.DevHandling, Team: r.TeamAssignment, Severity: r.SyslogSeverity, Facility: r.Facility}
	if r.MatchString != nil {
		er.MatchString = *r.MatchString
	}
	if r.TrapOID != nil {
		er.TrapOID = *r.TrapOID
	}
	if r.AppName != nil {
		er.AppName = *r.AppName
	}
	return er
}

// allRules reads every rule, in the engine's order.
func (s *Server) allRules(ctx context.Context) ([]Rule, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT `+ruleColumns+` FROM alert_rules ORDER BY priority, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) { return scanRule(r) })
}

// ruleFindings analyses the stored rules.
func (s *Server) ruleFindings(ctx context.Context) ([]rules.Finding, int, error) {
	stored, err := s.allRules(ctx)
	if err != nil {
		return nil, 0, err
	}
	in := make([]rules.AnalyzedRule, len(stored))
	for i, r := range stored {
		in[i] = rules.AnalyzedRule{Rule: engineRule(r), Active: r.IsActive}
	}
	return rules.Analyze(in), len(stored), nil
}

// findingsAbout are the messages of the findings that concern rule id: the
// rule is duplicated or shadowed, or it duplicates or shadows another. A
// failed analysis gives none: the write it accompanies has been made.
func (s *Server) findingsAbout(ctx context.Context, id int) []string {
	fs, _, err := s.ruleFindings(ctx)
	if err != nil {
		s.o.Log.Warn("rule analysis after a write failed", "component", "api", "err", err)
		return nil
	}
	var out []string
	for _, f := range fs {
		if f.Rule == int64(id) || f.By == int64(id) {
			out = append(out, f.Message)
		}
	}
	return out
}

func (s *Server) rulesAnalysis(c *gin.Context) {
	fs, n, err := s.ruleFindings(c)
	if err != nil {
		s.dbFailure(c, "analyse rules", err)
		return
	}
	if fs == nil {
		fs = []rules.Finding{}
	}
	c.JSON(http.StatusOK, gin.H{"rules": n, "findings": fs})
}

// ruleTestInput is a POST /rules/test body: a draft rule as POST /rules
// takes it (no reason: nothing is written), the id of the rule it would
// replace (0 for a new rule), and how many recent events to try.
type ruleTestInput struct {
	ruleInput
	Replaces *int `json:"replaces"`
	Events   *int `json:"events"`
}

// RuleTestMatch is one recent event the draft rule matches.
type RuleTestMatch struct {
	EventID        string    `json:"event_id"`
	EventTimestamp time.Time `json:"event_timestamp"`
	Hostname       string    `json:"hostname"`
	Message        string    `json:"message"`
	Environment    string    `json:"environment"`
	Handling       string    `json:"handling"`
	Forward        bool      `json:"forward"`
	// DecidedBy is the rule that would decide the event with the draft saved
	// (the draft's own id, or 0 for a new rule, when it wins); an earlier
	// rule here means the draft matches but would not decide.
	DecidedBy   int64 `json:"decided_by"`
	DraftDecide bool  `json:"draft_decides"`
	// CurrentRuleID is the rule that decided the event when it was audited.
	CurrentRuleID *int `json:"current_rule_id"`
}

// newRuleID stands for a draft that is not saved yet: it sorts after every
// stored rule of its priority, as its real id would.
const newRuleID = math.MaxInt32

func (s *Server) testRule(c *gin.Context) {
	var in ruleTestInput
	if !decodeStrictBody(c, &in) {
		return
	}
	n := defaultTestEvents
	if in.Events != nil {
		if *in.Events < 1 || *in.Events > maxTestEvents {
			abort(c, http.StatusBadRequest, errInvalidField, fmt.Sprintf("events: must be between 1 and %d", maxTestEvents))
			return
		}
		n = *in.Events
	}
	replaces := 0
	if in.Replaces != nil {
		if *in.Replaces <= 0 {
			abort(c, http.StatusBadRequest, errInvalidField, "replaces: must be the id of a stored rule (a positive integer) or absent")
			return
		}
		replaces = *in.Replaces
	}
	draft, _, err := in.validate()
	if err != nil {
		answerInvalid(c, err)
		return
	}
	draft.ID = newRuleID
	if replaces != 0 {
		draft.ID = replaces
	}
	stored, err := s.allRules(c)
	if err != nil {
		s.dbFailure(c, "test rule", err)
		return
	}
	devHosts, teams, err := s.hostsAndTeams(c)
	if err != nil {
		s.dbFailure(c, "test rule", err)
		return
	}
	found := replaces == 0
	set := []rules.Rule{engineRule(draft)}
	for _, r := range stored {
		if r.ID == replaces {
			found = true
			continue
		}
		if r.IsActive {
			set = append(set, engineRule(r))
		}
	}
	if !found {
		abort(c, http.StatusBadRequest, errInvalidField, fmt.Sprintf("replaces: rule %d does not exist", replaces))
		return
	}
	alone, errs := rules.Compile(set[:1], devHosts, teams)
	if len(errs) > 0 {
		answerInvalid(c, &fieldErr{"match_string", errs[0].Error()})
		return
	}
	withDraft, _ := rules.Compile(set, devHosts, teams) // stored rules that do not compile are left out, as the alerter does

	rows, err := s.o.DB.Query(c, `SELECT `+eventColumns+`, false FROM event_audit_log
		ORDER BY event_timestamp DESC, event_id DESC LIMIT $1`, n)
	if err != nil {
		s.dbFailure(c, "test rule", err)
		return
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventAudit, error) {
		var x EventAudit
		err := r.Scan(&x.ID, &x.EventID, &x.EventTimestamp, &x.ReceivedAt, &x.Hostname, &x.MatchedRuleID,
			&x.HandlingDecision, &x.ForwardedToMoog, &x.TeamAssignment, &x.Environment, &x.CorrelationID,
			&x.RawMessage, &x.Archived)
		return x, err
	})
	if err != nil {
		s.dbFailure(c, "test rule", err)
		return
	}
	matches := []RuleTestMatch{}
	matched, decides := 0, 0
	for i := range events {
		ev := envelopeOf(&events[i])
		d := alone.Evaluate(&ev)
		if !d.Matched {
			continue
		}
		matched++
		w := withDraft.Evaluate(&ev)
		m := RuleTestMatch{EventID: events[i].EventID, EventTimestamp: events[i].EventTimestamp.UTC(),
			Hostname: ev.Hostname, Message: ev.Message, Environment: d.Environment, Handling: d.Rule.StoredHandling(d.Environment),
			Forward: d.Forward, CurrentRuleID: events[i].MatchedRuleID}
		if w.Rule != nil {
			m.DecidedBy = w.Rule.ID
			m.DraftDecide = w.Rule.ID == int64(draft.ID)
		}
		if m.DraftDecide {
			decides++
			if replaces == 0 {
				m.DecidedBy = 0
			}
		}
		if len(matches) < maxTestMatches {
			matches = append(matches, m)
		}
	}
	c.JSON(http.StatusOK, gin.H{"evaluated": len(events), "matched": matched, "decides": decides, "matches": matches})
}

// hostsAndTeams reads the development hosts and device teams, as the alerter does.
func (s *Server) hostsAndTeams(ctx context.Context) ([]string, map[string]string, error) {
	var hosts []string
	rows, err := s.o.DB.Query(ctx, `SELECT hostname FROM development_hosts`)
	if err != nil {
		return nil, nil, err
	}
	hosts, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, err
	}
	teams := map[string]string{}
	rows, err = s.o.DB.Query(ctx, `SELECT hostname, team_assignment FROM device_teams`)
	if err != nil {
		return nil, nil, err
	}
	var h, t string
	_, err = pgx.ForEachRow(rows, []any{&h, &t}, func() error { teams[h] = t; return nil })
	return hosts, teams, err
}

// envelopeOf rebuilds the envelope the alerter matched an audited event on:
// its raw_message is the event as the ingestor accepted it, so the
// ingestor's decoder gives back the same fields. An event it cannot read
// (an old row, a trimmed message) is matched on its host and raw text.
func envelopeOf(x *EventAudit) event.Envelope {
	raw := ""
	if x.RawMessage != nil {
		raw = *x.RawMessage
	}
	if env, _, _, err := ingest.DecodeQueued([]byte(raw), x.ReceivedAt, 1); err == nil {
		env.Hostname = x.Hostname
		return env
	}
	env := event.Envelope{Hostname: x.Hostname, Message: raw}
	var f struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(raw), &f) == nil && f.Message != "" {
		env.Message = f.Message
	}
	return env
}

func (s *Server) registerRuleTools(g *gin.RouterGroup, _ string) {
	g.GET("/rules/analysis", s.rulesAnalysis)
	g.POST("/rules/test", s.testRule)
}
