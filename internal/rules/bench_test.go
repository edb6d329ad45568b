package rules_test

import (
	"fmt"
	"testing"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
)

// regexRules are 50 regex rules of the kind operators write (vendor message
// mnemonics with variable parts), evaluated after the seed rules.
func regexRules() []rules.Rule {
	facilities := []string{"PLATFORM", "BGP", "OSPF", "SPANTREE", "HSRP", "C4K_EBM", "ILPOWER", "SW_MATM", "DUAL", "LINEPROTO"}
	out := make([]rules.Rule, 0, 50)
	for i := range 50 {
		f := facilities[i%len(facilities)]
		var pattern string
		switch i % 5 {
		case 0:
			pattern = fmt.Sprintf(`%%%s-\d-ADJCHG%d: neighbor \d+\.\d+\.\d+\.\d+ (up|down)`, f, i)
		case 1:
			pattern = fmt.Sprintf(`^%%%s-[0-3]-[A-Z_]+%d:`, f, i)
		case 2:
			pattern = fmt.Sprintf(`%s.*threshold%d (exceeded|crossed) on \S+`, f, i)
		case 3:
			pattern = fmt.Sprintf(`(temperature|voltage) sensor %d .*%s`, i, f)
		default:
			pattern = fmt.Sprintf(`%s-\d-DUPADDR%d|%s-\d-FLAP%d`, f, i, f, i)
		}
		out = append(out, rules.Rule{
			ID: int64(100 + i), Priority: 100 + i, MatchType: rules.MatchRegex, MatchString: pattern,
			ProdHandling: "Ticket_only", DevHandling: "Ignore", Team: "NetOps",
		})
	}
	return out
}

func benchEvents(b *testing.B, unmatchedOnly bool) []event.Envelope {
	var out []event.Envelope
	for _, c := range seedCases(b) {
		if unmatchedOnly && c.Want.Rule != 0 {
			continue
		}
		out = append(out, envelope(b, c.Event))
	}
	return out
}

func benchEvaluate(b *testing.B, unmatchedOnly bool) {
	eng := seedEngine(b, regexRules()...)
	events := benchEvents(b, unmatchedOnly)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		_ = eng.Evaluate(&events[i%len(events)])
		i++
	}
}

// BenchmarkEvaluate: the seed rules plus 50 regex rules over the fixture
// events (matched and unmatched, in the fixture's mix); ns/op is per event.
func BenchmarkEvaluate(b *testing.B) { benchEvaluate(b, false) }

// BenchmarkEvaluateUnmatched: only events no rule matches, so every rule
// (5 seed + 50 regex) is tried: the worst case.
func BenchmarkEvaluateUnmatched(b *testing.B) { benchEvaluate(b, true) }

func BenchmarkFingerprint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = rules.Fingerprint("%SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.1.1.1)")
	}
}
