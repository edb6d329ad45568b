package rules

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

func TestRequiredLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		want    []string
	}{
		{`LINK-DOWN`, []string{"link-down"}},
		{`%LINK-\d-UPDOWN: Interface \S+`, []string{"-updown: interface "}},
		{`threshold\d+ (exceeded|crossed)`, []string{"threshold"}},
		{`(temperature|voltage) sensor`, []string{" sensor"}},
		{`(temperature|voltage) \d`, []string{"temperature", "voltage"}},
		{`BGP-\d-ADJCHG|OSPF-\d-ADJCHG`, []string{"-adjchg", "-adjchg"}},
		{`(ab)+cd`, []string{"ab"}},
		{`x{2,}yy`, []string{"yy"}},
		{`^\d+\.\d+$`, nil},
		{`a*b?`, nil},
		{`(?i)a`, nil},
		{`caf[eé] crème`, []string{"caf"}},
		{`crème`, nil},
		{`(`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, requiredLiterals("(?i)"+tt.pattern))
		})
	}
}

// checkPrefilter asserts that the engine's answer for one regex rule is
// exactly the regex's own answer: the prefilter may skip work, never a match.
func checkPrefilter(t *testing.T, pattern, msg string) {
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil || pattern == "" { // such rules are rejected at compile
		return
	}
	eng, errs := Compile([]Rule{{ID: 1, MatchType: MatchRegex, MatchString: pattern}}, nil, nil)
	require.Empty(t, errs)
	got := eng.Evaluate(&event.Envelope{Message: msg}).Matched
	require.Equal(t, re.MatchString(msg), got, "pattern %q message %q", pattern, msg)
}

func TestPrefilterKeepsEveryMatch(t *testing.T) {
	t.Parallel()
	cases := [][2]string{
		{`LINK-DOWN`, "link-down"},
		{`LINK-DOWN`, "LiNk-DoWn now"},
		{`ss`, "ſſ"},                // Unicode folding: not ASCII, so no prefilter
		{`kk`, "\u212a\u212a"},      // Kelvin sign folds to k
		{`\x{212a}x`, "kx"},         // non-ASCII literal in the pattern
		{`sensor \d+`, "SENSOR 12"}, // upper-case message
		{`(?-i)ABC`, "abc"},         // case-sensitive part still filtered soundly
		{`(?-i)ABC`, "xABCx"},
		{`a(b|c)d`, "ACD"},
		{`threshold\d+ (exceeded|crossed)`, "Threshold7 CROSSED on Gi0/1"},
		{`threshold\d+ (exceeded|crossed)`, "threshold crossed"},
	}
	for _, c := range cases {
		checkPrefilter(t, c[0], c[1])
	}
}

func FuzzPrefilterKeepsEveryMatch(f *testing.F) {
	f.Add(`LINK-DOWN`, "x link-down y")
	f.Add(`ss`, "ſſ")
	f.Add(`k{2}`, "\u212a\u212a")
	f.Add(`(a|bc)+d`, "BCAD")
	f.Add(`%[A-Z]+-\d-\w+: (up|down)`, "%LINK-3-UPDOWN: down")
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		checkPrefilter(t, pattern, msg)
	})
}
