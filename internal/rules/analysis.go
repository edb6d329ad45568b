package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Finding kinds of Analyze.
const (
	// FindingDuplicate: the rule has the same conditions as an earlier one.
	FindingDuplicate = "duplicate"
	// FindingShadowed: every event the rule matches is taken first by an
	// earlier (higher-priority) active rule, so the rule never decides.
	FindingShadowed = "shadowed"
	// FindingInvalid: the engine cannot compile the rule and leaves it out.
	FindingInvalid = "invalid"
)

// Finding is one problem of a rule set: Rule is the rule concerned, By the
// earlier rule that duplicates or shadows it (0 for FindingInvalid).
type Finding struct {
	Rule    int64  `json:"rule_id"`
	Kind    string `json:"kind"`
	By      int64  `json:"by_rule_id,omitempty"`
	Message string `json:"message"`
}

// AnalyzedRule is a rule of Analyze with whether the engine evaluates it.
type AnalyzedRule struct {
	Rule
	Active bool
}

// Analyze reports duplicate, shadowed and uncompilable rules. It orders the
// rules as Compile does (priority, then id) and compiles them as the engine
// does, so what it says is what the engine would do: rule B is shadowed by A
// when A is active, comes first, and matches every event B matches (judged
// conservatively: a finding is always true, but not every shadowed rule is
// found — two different regular expressions are never compared). Inactive
// rules are checked against the active ones (they would be shadowed if
// enabled) but never shadow another.
func Analyze(rules []AnalyzedRule) []Finding {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b AnalyzedRule) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	})
	type entry struct {
		c      compiled
		active bool
	}
	var ok []entry
	var out []Finding
	for _, r := range sorted {
		c, err := compileRule(r.Rule)
		if err != nil {
			out = append(out, Finding{Rule: r.ID, Kind: FindingInvalid, Message: fmt.Sprintf("rule %d is left out by the engine: %v", r.ID, err)})
			continue
		}
		for _, e := range ok {
			if sameConditions(&e.c, &c) {
				out = append(out, Finding{Rule: r.ID, Kind: FindingDuplicate, By: e.c.ID,
					Message: fmt.Sprintf("rule %d has the same conditions as rule %d", r.ID, e.c.ID)})
				break
			}
			if e.active && covers(&e.c, &c) {
				out = append(out, Finding{Rule: r.ID, Kind: FindingShadowed, By: e.c.ID,
					Message: fmt.Sprintf("rule %d never decides: rule %d (priority %d) matches every event it matches first",
						r.ID, e.c.ID, e.c.Priority)})
				break
			}
		}
		ok = append(ok, entry{c, r.Active})
	}
	return out
}

// sameConditions reports whether a and b match exactly the same events.
func sameConditions(a, b *compiled) bool {
	if a.MatchType != b.MatchType || a.hasSev != b.hasSev || a.hasFac != b.hasFac ||
		(a.hasSev && a.wantSev != b.wantSev) || (a.hasFac && a.wantFac != b.wantFac) ||
		!strings.EqualFold(a.app, b.app) {
		return false
	}
	switch a.MatchType {
	case MatchContains:
		return a.needle == b.needle
	case MatchRegex:
		return a.MatchString == b.MatchString
	default:
		return a.oid == b.oid
	}
}

// covers reports whether every event b matches is matched by a.
func covers(a, b *compiled) bool {
	if a.hasSev && (!b.hasSev || a.wantSev != b.wantSev) {
		return false
	}
	if a.hasFac && (!b.hasFac || a.wantFac != b.wantFac) {
		return false
	}
	if a.app != "" && !strings.EqualFold(a.app, b.app) {
		return false
	}
	switch a.MatchType {
	case MatchContains:
		if a.needle == "" {
			return true // narrowed by app name or facility only: every message of them
		}
		return b.MatchType == MatchContains && strings.Contains(b.needle, a.needle)
	case MatchRegex:
		return b.MatchType == MatchRegex && a.MatchString == b.MatchString
	default:
		return b.MatchType == MatchOIDPrefix && oidHasPrefix(b.oid, a.oid)
	}
}
