package rules

import (
	"regexp/syntax"
	"strings"
)

// maxPrefilterAlts bounds the alternatives a prefilter may hold; a pattern
// that needs more is simply run without one.
const maxPrefilterAlts = 16

// requiredLiterals derives a cheap necessary condition from a regex: a set
// of lower-cased ASCII strings such that every match of the pattern contains
// at least one of them, case-insensitively. It returns nil when it cannot
// find a useful one. Evaluate checks the set against the lower-cased message
// before running the regex, which skips most regex runs on messages a rule
// cannot match (an RE2 run costs about a microsecond per rule, a substring
// check a few nanoseconds).
//
// The check is only used on ASCII messages: there, a literal matches
// case-insensitively exactly when the lower-cased message contains the
// lower-cased literal. Literals with non-ASCII runes are never used, since
// Unicode case folding (e.g. "ſ" and "s") does not follow strings.ToLower.
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits := required(re.Simplify())
	for _, l := range lits {
		if len(l) < 2 { // too weak to be worth a check
			return nil
		}
	}
	return lits
}

// required returns the literal set of re (see requiredLiterals), nil for none.
func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r >= 0x80 {
				return nil
			}
		}
		return []string{strings.ToLower(string(re.Rune))}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		// Every part must match, so any part's set will do: keep the most
		// selective (longest shortest alternative, then fewest alternatives).
		var best []string
		for _, sub := range re.Sub {
			if s := required(sub); s != nil && better(s, best) {
				best = s
			}
		}
		return best
	case syntax.OpAlternate:
		// One branch matches, so the union of the branches' sets; a branch
		// without a set makes the whole unconstrained.
		var all []string
		for _, sub := range re.Sub {
			s := required(sub)
			if s == nil {
				return nil
			}
			all = append(all, s...)
		}
		if len(all) > maxPrefilterAlts {
			return nil
		}
		return all
	default:
		return nil
	}
}

func better(a, b []string) bool {
	if b == nil {
		return true
	}
	sa, sb := shortest(a), shortest(b)
	if sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

func shortest(s []string) int {
	n := -1
	for _, l := range s {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// text is an event message with its lower-cased form, computed at most
// once per event and only when a rule needs it.
type text struct {
	msg   string
	lower string
	ascii bool
	done  bool
}

func (t *text) lowered() string {
	if !t.done {
		t.done = true
		t.ascii = true
		for i := 0; i < len(t.msg); i++ {
			if t.msg[i] >= 0x80 {
				t.ascii = false
				break
			}
		}
		t.lower = strings.ToLower(t.msg)
	}
	return t.lower
}
