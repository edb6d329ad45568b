package rules_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

func sev(n int) *int { return &n }

func rule(id int64, prio int, typ, match string) rules.Rule {
	r := rules.Rule{ID: id, Priority: prio, MatchType: typ, ProdHandling: "Page_and_ticket", DevHandling: "Ignore",
		Team: "T" + strconv.FormatInt(id, 10)}
	if typ == rules.MatchOIDPrefix {
		r.TrapOID = match
	} else {
		r.MatchString = match
	}
	return r
}

func compile(t *testing.T, rs []rules.Rule, dev []string, teams map[string]string) *rules.Engine {
	t.Helper()
	eng, errs := rules.Compile(rs, dev, teams)
	require.Empty(t, errs)
	return eng
}

func ruleID(d rules.Decision) int64 {
	if d.Rule == nil {
		return 0
	}
	return d.Rule.ID
}

func TestEvaluateMatchTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rule    rules.Rule
		msg     string
		oid     string
		matched bool
	}{
		{"contains, same case", rule(1, 1, rules.MatchContains, "LINK-DOWN"), "x LINK-DOWN y", "", true},
		{"contains, message lower-case", rule(1, 1, rules.MatchContains, "LINK-DOWN"), "x link-down y", "", true},
		{"contains, rule lower-case", rule(1, 1, rules.MatchContains, "link-down"), "X LINK-DOWN Y", "", true},
		{"contains, absent", rule(1, 1, rules.MatchContains, "LINK-DOWN"), "link is down", "", false},
		{"contains, non-ASCII folded", rule(1, 1, rules.MatchContains, "ÉCHEC"), "disque: échec de lecture", "", true},
		{"regex, unanchored", rule(1, 1, rules.MatchRegex, `Gi\d+/\d+ down`), "port Gi0/12 down now", "", true},
		{"regex, case-insensitive", rule(1, 1, rules.MatchRegex, `^%link-\d-updown`), "%LINK-3-UPDOWN: x", "", true},
		{"regex, no match", rule(1, 1, rules.MatchRegex, `^%LINK-\d-UPDOWN`), "x %LINK-3-UPDOWN", "", false},
		{"oid, equal", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", "1.3.6.1.4.1.9", true},
		{"oid, child", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", "1.3.6.1.4.1.9.1", true},
		{"oid, sibling sharing digits", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", "1.3.6.1.4.1.99", false},
		{"oid, sibling child sharing digits", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", "1.3.6.1.4.1.99.1", false},
		{"oid, shorter event", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", "1.3.6.1.4.1", false},
		{"oid, rule with leading dot", rule(1, 1, rules.MatchOIDPrefix, ".1.3.6.1.4.1.9"), "", "1.3.6.1.4.1.9.2", true},
		{"oid, event with leading dot", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "", ".1.3.6.1.4.1.9.2", true},
		{"oid, rule with trailing dot", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9."), "", "1.3.6.1.4.1.9.2", true},
		{"oid, event without oid", rule(1, 1, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"), "1.3.6.1.4.1.9", "", false},
		{"contains ignores the oid", rule(1, 1, rules.MatchContains, "1.3.6"), "no digits here", "1.3.6.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := compile(t, []rules.Rule{tt.rule}, nil, nil)
			d := eng.Evaluate(&event.Envelope{Hostname: "h", Message: tt.msg, TrapOID: tt.oid})
			require.Equal(t, tt.matched, d.Matched)
			if tt.matched {
				require.EqualValues(t, 1, ruleID(d))
			} else {
				require.Nil(t, d.Rule)
			}
		})
	}
}

func TestEvaluateSeverityFilter(t *testing.T) {
	t.Parallel()
	withSev := func(r rules.Rule, s int) rules.Rule { r.Severity = sev(s); return r }
	tests := []struct {
		name    string
		rule    rules.Rule
		sev     *int
		matched bool
	}{
		{"contains, equal severity", withSev(rule(1, 1, rules.MatchContains, "fan"), 2), sev(2), true},
		{"contains, other severity", withSev(rule(1, 1, rules.MatchContains, "fan"), 2), sev(3), false},
		{"contains, event without severity", withSev(rule(1, 1, rules.MatchContains, "fan"), 2), nil, false},
		{"contains, severity 0", withSev(rule(1, 1, rules.MatchContains, "fan"), 0), sev(0), true},
		{"regex, equal severity", withSev(rule(1, 1, rules.MatchRegex, "f.n"), 4), sev(4), true},
		{"regex, other severity", withSev(rule(1, 1, rules.MatchRegex, "f.n"), 4), sev(5), false},
		{"oid, equal severity", withSev(rule(1, 1, rules.MatchOIDPrefix, "1.3.6"), 1), sev(1), true},
		{"oid, other severity", withSev(rule(1, 1, rules.MatchOIDPrefix, "1.3.6"), 1), sev(7), false},
		{"rule without severity matches any", rule(1, 1, rules.MatchContains, "fan"), sev(7), true},
		{"rule without severity matches none", rule(1, 1, rules.MatchContains, "fan"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := compile(t, []rules.Rule{tt.rule}, nil, nil)
			d := eng.Evaluate(&event.Envelope{Hostname: "h", Message: "FAN failure", TrapOID: "1.3.6.1", Severity: tt.sev})
			require.Equal(t, tt.matched, d.Matched)
		})
	}

	// A severity-filtered rule that does not apply lets later rules match.
	eng := compile(t, []rules.Rule{withSev(rule(1, 1, rules.MatchContains, "fan"), 2), rule(2, 2, rules.MatchContains, "fan")}, nil, nil)
	require.EqualValues(t, 2, ruleID(eng.Evaluate(&event.Envelope{Message: "fan", Severity: sev(5)})))
	require.EqualValues(t, 1, ruleID(eng.Evaluate(&event.Envelope{Message: "fan", Severity: sev(2)})))
}

func TestEvaluateOrder(t *testing.T) {
	t.Parallel()
	// Given out of order on purpose: evaluation is by priority, then id.
	rs := []rules.Rule{
		rule(9, 50, rules.MatchContains, "a"),
		rule(7, 10, rules.MatchContains, "link"),
		rule(4, 10, rules.MatchRegex, "lin."),
		rule(3, 20, rules.MatchContains, "down"),
		rule(8, 5, rules.MatchOIDPrefix, "1.3.6.1.4.1.9"),
	}
	eng := compile(t, rs, nil, nil)
	var order []int64
	for _, r := range eng.Rules() {
		order = append(order, r.ID)
	}
	require.Equal(t, []int64{8, 4, 7, 3, 9}, order)

	tests := []struct {
		name string
		env  event.Envelope
		want int64
	}{
		{"priority tie broken by lower id", event.Envelope{Message: "link down"}, 4},
		{"lower priority number wins over id", event.Envelope{Message: "link down", TrapOID: "1.3.6.1.4.1.9.1"}, 8},
		{"first match in order", event.Envelope{Message: "going down"}, 3},
		{"last rule", event.Envelope{Message: "a"}, 9},
		{"no match", event.Envelope{Message: "zzz"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, ruleID(eng.Evaluate(&tt.env)))
		})
	}
}

func TestEvaluateEnvironmentAndHandling(t *testing.T) {
	t.Parallel()
	mk := func(id int64, prod, dev string) rules.Rule {
		r := rule(id, int(id), rules.MatchContains, "m"+strconv.FormatInt(id, 10)+";")
		r.ProdHandling, r.DevHandling, r.Team = prod, dev, "Team"+strconv.FormatInt(id, 10)
		return r
	}
	eng := compile(t, []rules.Rule{
		mk(1, "Page_and_ticket", "Ticket_only"),
		mk(2, "PAGE_ONLY", "ignore"),
		mk(3, "  ticket_only ", "Ignore"),
		mk(4, "Log_only", "IGNORE"),
	}, []string{"Dev-Router1", " lab1 "}, nil)
	tests := []struct {
		name, host, msg string
		env, handling   string
		forward         bool
		known           bool
		rule            int64
	}{
		{"prod page_and_ticket", "core1", "m1;", rules.EnvProd, "page_and_ticket", true, true, 1},
		{"dev uses dev handling", "dev-router1", "m1;", rules.EnvDev, "ticket_only", true, true, 1},
		{"dev host case-insensitive", "DEV-ROUTER1", "m1;", rules.EnvDev, "ticket_only", true, true, 1},
		{"dev host trimmed at load", "LAB1", "m2;", rules.EnvDev, "ignore", false, true, 2},
		{"upper-case page_only forwards", "core1", "m2;", rules.EnvProd, "page_only", true, true, 2},
		{"spaces around the word are trimmed", "core1", "m3;", rules.EnvProd, "ticket_only", true, true, 3},
		{"dev Ignore audits only", "dev-router1", "m3;", rules.EnvDev, "ignore", false, true, 3},
		{"unknown word audits only", "core1", "m4;", rules.EnvProd, "log_only", false, false, 4},
		{"upper-case IGNORE", "lab1", "m4;", rules.EnvDev, "ignore", false, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := eng.Evaluate(&event.Envelope{Hostname: tt.host, Message: tt.msg})
			require.True(t, d.Matched)
			require.Equal(t, tt.rule, ruleID(d))
			require.Equal(t, tt.env, d.Environment)
			require.Equal(t, tt.handling, d.Handling)
			require.Equal(t, tt.forward, d.Forward)
			require.Equal(t, tt.known, rules.KnownHandling(d.Handling))
			require.Equal(t, "Team"+strconv.FormatInt(tt.rule, 10), d.Team)
		})
	}
	d := eng.Evaluate(&event.Envelope{Hostname: "Dev-Router1", Message: "nothing"})
	require.False(t, d.Matched)
	require.Equal(t, rules.EnvDev, d.Environment)
}

func TestTeam(t *testing.T) {
	t.Parallel()
	eng := compile(t, nil, nil, map[string]string{"Router1.Prod.Example.com": "NetOps", "fw1": "Security"})
	team, ok := eng.Team("router1.prod.example.com")
	require.True(t, ok)
	require.Equal(t, "NetOps", team)
	team, ok = eng.Team("FW1")
	require.True(t, ok)
	require.Equal(t, "Security", team)
	_, ok = eng.Team("unknown-host")
	require.False(t, ok)
}

func TestCompileSkipsBadRules(t *testing.T) {
	t.Parallel()
	bad := []rules.Rule{
		rule(11, 1, rules.MatchRegex, `(unclosed`),
		rule(12, 1, rules.MatchRegex, `a{1001}`), // beyond RE2's repeat limit
		rule(13, 1, rules.MatchContains, ""),
		rule(14, 1, rules.MatchOIDPrefix, "..."),
		rule(15, 1, "exact", "x"),
		func() rules.Rule { r := rule(16, 1, rules.MatchContains, "x"); r.Severity = sev(8); return r }(),
		func() rules.Rule { r := rule(17, 1, rules.MatchContains, "x"); r.Facility = sev(24); return r }(),
		func() rules.Rule { r := rule(18, 1, rules.MatchContains, "x"); r.Facility = sev(-1); return r }(),
		func() rules.Rule { r := rule(19, 1, rules.MatchRegex, ""); r.AppName = "sshd"; return r }(),
		func() rules.Rule { r := rule(21, 1, rules.MatchContains, ""); r.AppName = "  "; return r }(),
	}
	good := rule(20, 2, rules.MatchContains, "unclosed")
	eng, errs := rules.Compile(append(bad, good), nil, nil)
	require.Len(t, errs, len(bad))
	var ids []int64
	for _, err := range errs {
		var re *rules.RuleError
		require.ErrorAs(t, err, &re)
		ids = append(ids, re.ID)
		require.Contains(t, err.Error(), "rule "+strconv.FormatInt(re.ID, 10))
	}
	require.ElementsMatch(t, []int64{11, 12, 13, 14, 15, 16, 17, 18, 19, 21}, ids)
	require.Len(t, eng.Rules(), 1, "the valid rule survives")
	require.EqualValues(t, 20, ruleID(eng.Evaluate(&event.Envelope{Message: "(unclosed"})))
}

func TestEvaluateDoesNotModifyTheEvent(t *testing.T) {
	t.Parallel()
	eng := compile(t, []rules.Rule{rule(1, 1, rules.MatchOIDPrefix, "1.3")}, nil, nil)
	env := event.Envelope{Hostname: "H", Message: "MiXeD", TrapOID: ".1.3.6"}
	before := env
	require.True(t, eng.Evaluate(&env).Matched)
	require.Equal(t, before, env)
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	fp := rules.Fingerprint("Interface Gi0/1 down after 12 s")
	require.Len(t, fp, 16)
	_, err := hex.DecodeString(fp)
	require.NoError(t, err)

	// The definition, computed independently.
	sum := sha1.Sum([]byte("interface gi0/0 down after 0 s"))
	require.Equal(t, hex.EncodeToString(sum[:])[:16], fp)

	same := []string{
		"Interface Gi0/1 down after 12 s",
		"INTERFACE GI0/1 DOWN AFTER 12 S",
		"Interface Gi7/48 down after 3 s",
		"Interface Gi10/100 down after 99999 s",
	}
	for _, m := range same {
		require.Equal(t, fp, rules.Fingerprint(m), m)
	}
	different := []string{
		"Interface Gi0/1 up after 12 s",
		"Interface Gi0/1 down after s",
		"Interface Gi0.1 down after 12 s",
		"",
	}
	for _, m := range different {
		require.NotEqual(t, fp, rules.Fingerprint(m), m)
	}
	require.Equal(t, rules.Fingerprint("at 10.1.2.3 port 443"), rules.Fingerprint("at 192.168.0.1 port 8080"))
}

// peerEvent is the shape the peer's clients send: syslog objects with a
// severity name, SNMP traps with source_ip, trap_oid and variables.
type peerEvent struct {
	Hostname       string   `json:"hostname"`
	SourceIP       string   `json:"source_ip"`
	Timestamp      string   `json:"timestamp"`
	Message        string   `json:"message"`
	SyslogSeverity string   `json:"syslog_severity"`
	Severity       string   `json:"severity"`
	TrapOID        string   `json:"trap_oid"`
	Variables      []string `json:"variables"`
}

// severityNames is what the ingestor does to severity names (kept here so
// the engine test needs no other package).
var severityNames = map[string]int{
	"emergency": 0, "alert": 1, "critical": 2, "error": 3, "warning": 4, "notice": 5, "info": 6,
	"informational": 6, "debug": 7,
}

// envelope turns a peer-shaped object into what the ingestor would enqueue
// (the OID is left as sent, to show the engine copes with a leading dot).
func envelope(t testing.TB, raw json.RawMessage) event.Envelope {
	t.Helper()
	var p peerEvent
	require.NoError(t, json.Unmarshal(raw, &p))
	ts, err := time.Parse(time.RFC3339Nano, p.Timestamp)
	require.NoError(t, err)
	env := event.Envelope{
		EventID: "0190f6a0-0000-7000-8000-000000000000", Source: event.SourceHTTP,
		Hostname: p.Hostname, Message: p.Message, Timestamp: ts, TrapOID: p.TrapOID, Original: raw,
	}
	if env.Hostname == "" {
		env.Hostname = p.SourceIP
	}
	if env.Message == "" {
		env.Message = strings.Join(p.Variables, " ")
	}
	name := p.SyslogSeverity
	if name == "" {
		name = p.Severity
	}
	if n, ok := severityNames[strings.ToLower(name)]; ok {
		env.Severity = &n
	}
	return env
}

type seedFixture struct {
	Rules    []rules.Rule      `json:"rules"`
	DevHosts []string          `json:"dev_hosts"`
	Teams    map[string]string `json:"teams"`
}

type seedCase struct {
	Name  string          `json:"name"`
	Event json.RawMessage `json:"event"`
	Want  struct {
		Rule        int64  `json:"rule"`
		Environment string `json:"environment"`
		Handling    string `json:"handling"`
		Forward     bool   `json:"forward"`
		Team        string `json:"team"`
	} `json:"want"`
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func seedEngine(t testing.TB, extra ...rules.Rule) *rules.Engine {
	t.Helper()
	var f seedFixture
	readJSON(t, "seed_rules.json", &f)
	eng, errs := rules.Compile(append(f.Rules, extra...), f.DevHosts, f.Teams)
	require.Empty(t, errs)
	return eng
}

func seedCases(t testing.TB) []seedCase {
	t.Helper()
	var f struct{ Cases []seedCase }
	readJSON(t, "seed_events.json", &f)
	require.NotEmpty(t, f.Cases)
	return f.Cases
}

func TestSeedRulesOnPeerEvents(t *testing.T) {
	t.Parallel()
	eng := seedEngine(t)
	for _, c := range seedCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			env := envelope(t, c.Event)
			d := eng.Evaluate(&env)
			require.Equal(t, c.Want.Rule, ruleID(d))
			require.Equal(t, c.Want.Rule != 0, d.Matched)
			require.Equal(t, c.Want.Environment, d.Environment)
			require.Equal(t, c.Want.Handling, d.Handling)
			require.Equal(t, c.Want.Forward, d.Forward)
			require.Equal(t, c.Want.Team, d.Team)
		})
	}
}

// TestCanonicalHandling: a known word in any case, with blanks around it,
// comes back in its one stored spelling, the Python MUTT's; another word
// comes back trimmed and not ok.
func TestCanonicalHandling(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"page_and_ticket": "Page_and_ticket", "PAGE_AND_TICKET": "Page_and_ticket", "Page_and_ticket": "Page_and_ticket",
		" ticket_ONLY ": "Ticket_only", "Page_Only": "Page_only", "IGNORE": "Ignore",
	} {
		got, ok := rules.CanonicalHandling(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", " Escalate ", "log_only"} {
		got, ok := rules.CanonicalHandling(in)
		require.False(t, ok, in)
		require.Equal(t, strings.TrimSpace(in), got, in)
	}
	require.Equal(t, []string{"Page_and_ticket", "Page_only", "Ticket_only", "Ignore"}, rules.Handlings)
}
