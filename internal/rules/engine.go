package rules

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/mutt-ops/mutt/internal/event"
)

// Match types of a rule (alert_rules.match_type).
const (
	MatchContains  = "contains"
	MatchRegex     = "regex"
	MatchOIDPrefix = "oid_prefix"
)

// Environments of a decision.
const (
	EnvProd = "prod"
	EnvDev  = "dev"
)

// Handling words (compared lower-cased). The first three forward an alert;
// HandlingIgnore, and any word not listed here, only audits.
const (
	HandlingPageAndTicket = "page_and_ticket"
	HandlingPageOnly      = "page_only"
	HandlingTicketOnly    = "ticket_only"
	HandlingIgnore        = "ignore"
)

// Rule is one row of alert_rules as the engine needs it.
type Rule struct {
	ID           int64
	MatchString  string // contains: substring; regex: RE2 pattern
	TrapOID      string // oid_prefix: the OID prefix (a leading dot is ignored)
	Severity     *int   // when set, only events of exactly this syslog severity match
	AppName      string // when set, only events of this syslog app name match (case-insensitive)
	Facility     *int   // when set, only events of exactly this syslog facility (0-23) match
	MatchType    string
	Priority     int
	ProdHandling string
	DevHandling  string
	Team         string
}

// Decision is what the engine concluded about one event.
type Decision struct {
	Matched     bool
	Rule        *Rule  // the first matching rule; nil when unmatched
	Environment string // EnvDev when the host is a development host, else EnvProd
	Handling    string // the rule's handling for Environment, lower-cased and trimmed
	Forward     bool   // whether an alert goes to the forwarder
	Team        string // the rule's team_assignment
}

// RuleError reports a rule that could not be compiled and was left out.
type RuleError struct {
	ID  int64
	Err error
}

func (e *RuleError) Error() string { return fmt.Sprintf("rule %d: %v", e.ID, e.Err) }
func (e *RuleError) Unwrap() error { return e.Err }

// compiled is a rule ready to match: everything that can be decided once is
// decided at compile time, so Evaluate does no per-rule allocation.
type compiled struct {
	Rule
	needle  string         // contains: lower-cased match string
	re      *regexp.Regexp // regex
	lits    []string       // regex: prefilter (see requiredLiterals); nil for none
	oid     string         // oid_prefix: normalised OID
	prod    handling
	dev     handling
	hasSev  bool
	wantSev int
	app     string // trimmed AppName; "" for any
	hasFac  bool
	wantFac int
}

type handling struct {
	word    string // lower-cased
	forward bool
}

func newHandling(raw string) handling {
	w := strings.ToLower(strings.TrimSpace(raw))
	return handling{word: w, forward: Forwards(w)}
}

// Forwards reports whether a lower-cased handling word sends an alert.
func Forwards(word string) bool {
	switch word {
	case HandlingPageAndTicket, HandlingPageOnly, HandlingTicketOnly:
		return true
	}
	return false
}

// KnownHandling reports whether a lower-cased handling word is one MUTT
// understands; any other word audits only, like ignore.
func KnownHandling(word string) bool { return word == HandlingIgnore || Forwards(word) }

// Handlings are the handling words MUTT knows, in their stored spelling: the
// Python MUTT's (first letter upper, the rest lower: "Page_and_ticket").
var Handlings = []string{"Page_and_ticket", "Page_only", "Ticket_only", "Ignore"}

// CanonicalHandling is the one spelling a known handling word is stored in,
// whatever its case and surrounding blanks on input: the Python MUTT's
// ("Page_and_ticket", "Ticket_only", "Ignore", "Page_only"), so rules,
// audit rows and SQL of operators coming from it keep matching. A word
// MUTT does not know comes back trimmed, ok false.
func CanonicalHandling(raw string) (word string, ok bool) {
	w := strings.ToLower(strings.TrimSpace(raw))
	if !KnownHandling(w) {
		return strings.TrimSpace(raw), false
	}
	return strings.ToUpper(w[:1]) + w[1:], true
}

// Engine is an immutable, compiled rule set with the development hosts and
// device teams it was built with. It is safe for concurrent use.
type Engine struct {
	rules    []compiled
	devHosts map[string]struct{} // lower-cased
	teams    map[string]string   // lower-cased host -> team
}

// NormalizeOID strips the leading dots (and surrounding space) of an OID, so
// ".1.3.6.1" and "1.3.6.1" name the same thing.
func NormalizeOID(oid string) string {
	return strings.TrimLeft(strings.TrimSpace(oid), ".")
}

// Compile builds an engine from rules, development hosts and device teams
// (host -> team). Rules are ordered by priority, then id, so ties are
// deterministic. A rule that cannot be compiled (bad regex, empty match
// string or OID, unknown match type, severity out of 0–7, facility out of
// 0–23) is left out and
// reported as a *RuleError; the rest of the set is still usable.
func Compile(rules []Rule, devHosts []string, teams map[string]string) (*Engine, []error) {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	e := &Engine{
		rules:    make([]compiled, 0, len(sorted)),
		devHosts: make(map[string]struct{}, len(devHosts)),
		teams:    make(map[string]string, len(teams)),
	}
	var errs []error
	for _, r := range sorted {
		c, err := compileRule(r)
		if err != nil {
			errs = append(errs, &RuleError{ID: r.ID, Err: err})
			continue
		}
		e.rules = append(e.rules, c)
	}
	for _, h := range devHosts {
		e.devHosts[strings.ToLower(strings.TrimSpace(h))] = struct{}{}
	}
	for h, t := range teams {
		e.teams[strings.ToLower(strings.TrimSpace(h))] = t
	}
	return e, errs
}

func compileRule(r Rule) (compiled, error) {
	c := compiled{Rule: r, prod: newHandling(r.ProdHandling), dev: newHandling(r.DevHandling)}
	if r.Severity != nil {
		if *r.Severity < 0 || *r.Severity > 7 {
			return c, fmt.Errorf("syslog severity %d is outside 0-7", *r.Severity)
		}
		c.hasSev, c.wantSev = true, *r.Severity
	}
	if r.Facility != nil {
		if *r.Facility < 0 || *r.Facility > event.MaxFacility {
			return c, fmt.Errorf("syslog facility %d is outside 0-23", *r.Facility)
		}
		c.hasFac, c.wantFac = true, *r.Facility
	}
	c.app = strings.TrimSpace(r.AppName)
	switch r.MatchType {
	case MatchContains:
		// With an app name or facility, an empty match string matches every
		// message of them ("all sshd messages of facility auth").
		if r.MatchString == "" && c.app == "" && !c.hasFac {
			return c, errors.New("contains rule without a match string, app name or facility")
		}
		c.needle = strings.ToLower(r.MatchString)
	case MatchRegex:
		if r.MatchString == "" {
			return c, errors.New("regex rule without a pattern")
		}
		re, err := regexp.Compile("(?i)" + r.MatchString)
		if err != nil {
			return c, fmt.Errorf("compile regex: %w", err)
		}
		c.re = re
		c.lits = requiredLiterals("(?i)" + r.MatchString)
	case MatchOIDPrefix:
		// A trailing dot would defeat the dot-boundary check, so it goes too.
		c.oid = strings.TrimRight(NormalizeOID(r.TrapOID), ".")
		if c.oid == "" {
			return c, errors.New("oid_prefix rule without a trap OID")
		}
	default:
		return c, fmt.Errorf("unknown match type %q", r.MatchType)
	}
	return c, nil
}

// Rules returns the usable rules in evaluation order.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i := range e.rules {
		out[i] = e.rules[i].Rule
	}
	return out
}

// Len returns the number of usable rules.
func (e *Engine) Len() int { return len(e.rules) }

// IsDev reports whether host is a development host (case-insensitive).
func (e *Engine) IsDev(host string) bool {
	if len(e.devHosts) == 0 {
		return false
	}
	_, ok := e.devHosts[strings.ToLower(host)]
	return ok
}

// Team returns the device_teams entry of host (case-insensitive) and whether
// there is one; the caller falls back to its default team.
func (e *Engine) Team(host string) (string, bool) {
	t, ok := e.teams[strings.ToLower(host)]
	return t, ok
}

// Evaluate returns the decision of the first rule, in priority order, that
// matches ev. It does not modify ev and allocates at most the lower-cased
// message.
func (e *Engine) Evaluate(ev *event.Envelope) Decision {
	msg := text{msg: ev.Message}    // lowered once per event, and only if a rule needs it
	oid := NormalizeOID(ev.TrapOID) // normally a no-op: the ingestor already normalised it
	for i := range e.rules {
		r := &e.rules[i]
		if r.hasSev && (ev.Severity == nil || *ev.Severity != r.wantSev) {
			continue
		}
		if r.hasFac && (ev.Facility == nil || *ev.Facility != r.wantFac) {
			continue
		}
		if r.app != "" && !strings.EqualFold(ev.AppName, r.app) {
			continue
		}
		var hit bool
		switch r.MatchType {
		case MatchContains:
			hit = strings.Contains(msg.lowered(), r.needle)
		case MatchRegex:
			if r.lits != nil {
				low := msg.lowered()
				if msg.ascii && !containsAny(low, r.lits) {
					continue // cannot match: every match needs a literal that is absent
				}
			}
			hit = r.re.MatchString(ev.Message)
		case MatchOIDPrefix:
			hit = oidHasPrefix(oid, r.oid)
		}
		if hit {
			return e.decide(r, ev.Hostname)
		}
	}
	return Decision{Environment: e.Environment(ev.Hostname)}
}

// Environment returns EnvDev for a development host, else EnvProd.
func (e *Engine) Environment(host string) string {
	if e.IsDev(host) {
		return EnvDev
	}
	return EnvProd
}

func (e *Engine) decide(r *compiled, host string) Decision {
	d := Decision{Matched: true, Rule: &r.Rule, Environment: e.Environment(host), Team: r.Team}
	h := r.prod
	if d.Environment == EnvDev {
		h = r.dev
	}
	d.Handling, d.Forward = h.word, h.forward
	return d
}

// oidHasPrefix reports whether oid is prefix or lies under it: equal, or
// prefix followed by a dot (so 1.3.6.1.4.1.9 covers 1.3.6.1.4.1.9.1 but not
// 1.3.6.1.4.1.99). An event without an OID never matches.
func oidHasPrefix(oid, prefix string) bool {
	if oid == "" || !strings.HasPrefix(oid, prefix) {
		return false
	}
	return len(oid) == len(prefix) || oid[len(prefix)] == '.'
}

// StoredHandling is the handling text as the rule stores it for env (the
// audit keeps the operator's spelling).
func (r *Rule) StoredHandling(env string) string {
	if env == EnvDev {
		return r.DevHandling
	}
	return r.ProdHandling
}
