package rules_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

// TestEvaluateAppNameAndFacility: app_name and facility narrow a rule the way
// syslog_severity does, for every match type; app_name compares
// case-insensitively and exactly; a contains rule may leave its text empty
// when it has one of them.
func TestEvaluateAppNameAndFacility(t *testing.T) {
	t.Parallel()
	with := func(r rules.Rule, app string, fac *int) rules.Rule { r.AppName, r.Facility = app, fac; return r }
	auth, local4 := sev(4), sev(20)
	tests := []struct {
		name    string
		rule    rules.Rule
		app     string
		fac     *int
		matched bool
	}{
		{"app name equal", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", nil), "sshd", nil, true},
		{"app name other case", with(rule(1, 1, rules.MatchContains, "fail"), "SSHD", nil), "sshd", nil, true},
		{"app name with spaces in the rule", with(rule(1, 1, rules.MatchContains, "fail"), " sshd ", nil), "sshd", nil, true},
		{"app name differs", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", nil), "su", nil, false},
		{"app name is not a prefix match", with(rule(1, 1, rules.MatchContains, "fail"), "ssh", nil), "sshd", nil, false},
		{"app name is not a substring match", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", nil), "sshd-session", nil, false},
		{"event without app name", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", nil), "", nil, false},
		{"app name rule still needs its text", with(rule(1, 1, rules.MatchContains, "accepted"), "sshd", nil), "sshd", nil, false},
		{"facility equal", with(rule(1, 1, rules.MatchContains, "fail"), "", auth), "", sev(4), true},
		{"facility differs", with(rule(1, 1, rules.MatchContains, "fail"), "", auth), "", sev(10), false},
		{"facility 0 (kern)", with(rule(1, 1, rules.MatchContains, "fail"), "", sev(0)), "", sev(0), true},
		{"facility 0 does not match an event without one", with(rule(1, 1, rules.MatchContains, "fail"), "", sev(0)), "", nil, false},
		{"both equal", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", auth), "Sshd", sev(4), true},
		{"both, facility differs", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", auth), "sshd", local4, false},
		{"both, app differs", with(rule(1, 1, rules.MatchContains, "fail"), "sshd", auth), "sudo", sev(4), false},
		{"contains without text, app name only", with(rule(1, 1, rules.MatchContains, ""), "sshd", nil), "sshd", nil, true},
		{"contains without text, facility only", with(rule(1, 1, rules.MatchContains, ""), "", local4), "x", local4, true},
		{"contains without text, other app", with(rule(1, 1, rules.MatchContains, ""), "sshd", nil), "cron", nil, false},
		{"regex with app name", with(rule(1, 1, rules.MatchRegex, `fail\w+`), "sshd", auth), "sshd", sev(4), true},
		{"regex with app name differs", with(rule(1, 1, rules.MatchRegex, `fail\w+`), "sshd", auth), "cron", sev(4), false},
		{"oid with facility", with(rule(1, 1, rules.MatchOIDPrefix, "1.3.6"), "", local4), "", local4, true},
		{"oid with facility, trap without one", with(rule(1, 1, rules.MatchOIDPrefix, "1.3.6"), "", local4), "", nil, false},
		{"rule without them matches any", rule(1, 1, rules.MatchContains, "fail"), "anything", sev(23), true},
		{"rule without them matches none", rule(1, 1, rules.MatchContains, "fail"), "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := compile(t, []rules.Rule{tt.rule}, nil, nil)
			d := eng.Evaluate(&event.Envelope{Hostname: "h", Message: "Failed password for root", TrapOID: "1.3.6.1",
				AppName: tt.app, Facility: tt.fac, Severity: sev(2)})
			require.Equal(t, tt.matched, d.Matched)
		})
	}

	// A narrowed rule that does not apply lets a later, wider rule match.
	eng := compile(t, []rules.Rule{
		with(rule(1, 1, rules.MatchContains, ""), "sshd", auth),
		rule(2, 2, rules.MatchContains, "failed"),
	}, nil, nil)
	require.EqualValues(t, 1, ruleID(eng.Evaluate(&event.Envelope{Message: "Failed", AppName: "sshd", Facility: sev(4)})))
	require.EqualValues(t, 2, ruleID(eng.Evaluate(&event.Envelope{Message: "Failed", AppName: "sshd", Facility: sev(10)})))
	require.EqualValues(t, 2, ruleID(eng.Evaluate(&event.Envelope{Message: "Failed", AppName: "login", Facility: sev(4)})))
}
