package event_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

func TestParseSeverity(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   any
		want int
	}{
		// Numbers of every shape a decoder may hand over.
		{0, 0}, {7, 7}, {int8(3), 3}, {int16(4), 4}, {int32(5), 5}, {int64(6), 6},
		{uint(1), 1}, {uint8(2), 2}, {uint16(3), 3}, {uint32(4), 4}, {uint64(7), 7},
		{float32(2), 2}, {float64(3), 3}, {3.0, 3},
		{json.Number("4"), 4}, {json.Number("4.0"), 4}, {json.Number("4e0"), 4},
		// Numeric strings.
		{"0", 0}, {"7", 7}, {" 3 ", 3}, {"+2", 2}, {"03", 3}, {"5.0", 5},
		// Every name, in the cases clients send them.
		{"emerg", 0}, {"Emergency", 0}, {"PANIC", 0},
		{"alert", 1}, {"Alert", 1},
		{"crit", 2}, {"Critical", 2}, {"CRITICAL", 2},
		{"err", 3}, {"Error", 3}, {"major", 3}, {"Major", 3},
		{"warn", 4}, {"Warning", 4}, {"minor", 4}, {"Minor", 4},
		{"notice", 5}, {"Notice", 5},
		{"info", 6}, {"Info", 6}, {"informational", 6}, {"Informational", 6}, {"information", 6},
		{"debug", 7}, {"Debug", 7},
		{"  warning\t", 4},
	}
	for _, tc := range ok {
		got, err := event.ParseSeverity(tc.in)
		require.NoError(t, err, "%#v", tc.in)
		require.Equal(t, tc.want, got, "%#v", tc.in)
	}

	bad := []struct {
		in   any
		want string // substring of the error
	}{
		{-1, "-1 is not a severity"},
		{8, "8 is not a severity"},
		{uint(8), "8 is not a severity"},
		{3.5, "3.5 is not a severity"},
		{math.NaN(), "is not a severity"},
		{math.Inf(1), "is not a severity"},
		{json.Number("8"), "8 is not a severity"},
		{json.Number("1e9"), "1e9 is not a severity"},
		{"8", `"8" is not a severity`},
		{"-1", `"-1" is not a severity`},
		{"", `"" is not a severity`},
		{"   ", `"   " is not a severity`},
		{"warningx", `"warningx" is not a severity`},
		{"0x1", `"0x1" is not a severity`},
		{"inf", `"inf" is not a severity`},
		{"NaN", `"NaN" is not a severity`},
		{"1_0", `"1_0" is not a severity`},
		{"99999999999999999999999", "is not a severity"},
		{strings.Repeat("x", 100), "…"},
		{nil, "null is not a severity"},
		{true, "type bool is not a severity"},
		{[]any{1}, "type []interface {} is not a severity"},
		{map[string]any{}, "is not a severity"},
	}
	for _, tc := range bad {
		_, err := event.ParseSeverity(tc.in)
		require.Error(t, err, "%#v", tc.in)
		require.Contains(t, err.Error(), tc.want, "%#v", tc.in)
		require.Contains(t, err.Error(), "0-7", "the error tells the client what is allowed")
	}
}

func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"0", "7", "8", "-1", "3.0", "3.5", "1e0", "warning", "Critical", "INFO",
		"informational", "major", " err ", "", "nan", "inf", "0x1", "+4", "03", "\x00", "ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(v any) {
			n, err := event.ParseSeverity(v)
			if err != nil {
				require.NotEmpty(t, err.Error())
				require.Zero(t, n)
				return
			}
			require.True(t, n >= 0 && n <= 7, "severity %d from %q", n, s)
		}
		check(s)
		check(json.Number(s))
		// The same text decoded as JSON, as the ingestor would see it.
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if d.Decode(&v) == nil {
			check(v)
		}
	})
}
