package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// FuzzParseRulesFile: a rules file from outside never panics the parser, and
// what it accepts survives an export/import round trip unchanged (so a
// second import of an export is a no-op).
func FuzzParseRulesFile(f *testing.F) {
	f.Add([]byte("rules:\n  - id: 3\n    match_type: contains\n    match_string: LINK-DOWN\n    priority: 5\n    prod_handling: page_only\n    dev_handling: ignore\n    team_assignment: NETO\n    is_active: true\n"))
	f.Add([]byte("rules:\n  - match_type: oid_prefix\n    trap_oid: 1.3.6\n    syslog_severity: 2\n"))
	f.Add([]byte(`{"rules":[{"match_type":"regex","match_string":"a|b"}]}`))
	f.Add([]byte("rules:\n  - match_type: contains\n    colour: red\n"))
	f.Add([]byte("rules: [{id: 1, match_type: x}, {id: 1, match_type: y}]"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := parseRulesFile(b)
		if err != nil {
			return
		}
		for _, r := range doc.Rules {
			require.NotEmpty(t, r.MatchType)
			require.GreaterOrEqual(t, r.ID, 0)
		}
		var buf bytes.Buffer
		require.NoError(t, yaml.NewEncoder(&buf).Encode(doc))
		again, err := parseRulesFile(buf.Bytes())
		require.NoError(t, err, buf.String())
		require.Equal(t, len(doc.Rules), len(again.Rules))
		for i := range doc.Rules {
			require.Empty(t, diffRule(doc.Rules[i].normal(), again.Rules[i].normal()), "rule %d changes in a round trip", i)
		}
	})
}
