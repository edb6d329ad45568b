package rules

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAnalyzeFindsDuplicatesShadowsAndInvalidRules(t *testing.T) {
	t.Parallel()
	sev := func(n int) *int { return &n }
	r := func(id int64, prio int, typ, match string, active bool, mod ...func(*Rule)) AnalyzedRule {
		x := Rule{ID: id, Priority: prio, MatchType: typ, ProdHandling: "page_only", DevHandling: "ignore", Team: "t"}
		if typ == MatchOIDPrefix {
			x.TrapOID = match
		} else {
			x.MatchString = match
		}
		for _, f := range mod {
			f(&x)
		}
		return AnalyzedRule{Rule: x, Active: active}
	}
	got := Analyze([]AnalyzedRule{
		r(1, 10, MatchContains, "LINK", true),
		r(2, 20, MatchContains, "link-down", true),                                        // shadowed by 1 (contains "link")
		r(3, 5, MatchContains, "link", false),                                             // inactive and first: 1 duplicates it, but it shadows nothing
		r(4, 30, MatchRegex, "^disk (full|gone)$", true),                                  // distinct
		r(5, 40, MatchRegex, "^disk (full|gone)$", true),                                  // duplicate of 4
		r(6, 50, MatchOIDPrefix, "1.3.6.1.4.1.9", true),                                   // distinct
		r(7, 60, MatchOIDPrefix, ".1.3.6.1.4.1.9.9", true),                                // shadowed by 6
		r(8, 70, MatchOIDPrefix, "1.3.6.1.4.1.99", true),                                  // not under 1.3.6.1.4.1.9
		r(9, 80, MatchContains, "fan", true, func(x *Rule) { x.Severity = sev(2) }),       // distinct
		r(10, 90, MatchContains, "fan tray", true),                                        // not shadowed: 9 needs severity 2
		r(11, 95, MatchContains, "fan tray", true, func(x *Rule) { x.Severity = sev(2) }), // shadowed by 9
		r(12, 1, MatchRegex, "([", true),                                                  // invalid
		r(13, 99, MatchContains, "", true, func(x *Rule) { x.AppName = "SSHD" }),          // every sshd message
		r(14, 100, MatchRegex, "fail.*", true, func(x *Rule) { x.AppName = "sshd" }),      // shadowed by 13
	})
	type f struct {
		rule, by int64
		kind     string
	}
	var short []f
	for _, x := range got {
		short = append(short, f{x.Rule, x.By, x.Kind})
		require.NotEmpty(t, x.Message)
	}
	require.Equal(t, []f{
		{12, 0, FindingInvalid},
		{1, 3, FindingDuplicate},
		{2, 1, FindingShadowed},
		{5, 4, FindingDuplicate},
		{7, 6, FindingShadowed},
		{11, 9, FindingShadowed},
		{14, 13, FindingShadowed},
	}, short)
}
