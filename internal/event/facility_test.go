package event_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

func TestParseFacility(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"kern", 0, true}, {"auth", 4, true}, {" Local4 ", 20, true}, {"local7", 23, true}, {"authpriv", 10, true},
		{"0", 0, true}, {"23", 23, true}, {"04", 4, true}, {"audit", 13, true},
		{"24", 0, false}, {"-1", 0, false}, {"+4", 0, false}, {"", 0, false}, {"local8", 0, false},
		{"4.0", 0, false}, {"invld", 0, false}, {"99999999999999999999", 0, false},
	} {
		got, err := event.ParseFacility(tc.in)
		if !tc.ok {
			require.Error(t, err, "%q", tc.in)
			require.Contains(t, err.Error(), "is not a facility")
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got, "%q", tc.in)
	}
	for code := range event.MaxFacility + 1 {
		got, err := event.ParseFacility(event.FacilityName(code))
		require.NoError(t, err)
		require.Equal(t, code, got)
	}
	require.Empty(t, event.FacilityName(24))
	require.Empty(t, event.FacilityName(-1))
}

// FuzzParseFacility: any text either parses to a code 0-23 whose keyword
// parses back to it, or is an error; never a panic.
func FuzzParseFacility(f *testing.F) {
	for _, s := range []string{"auth", "LOCAL4", "23", "24", "-1", "", " cron ", "99999999999999999999", "local\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := event.ParseFacility(s)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, code, 0)
		require.LessOrEqual(t, code, event.MaxFacility)
		back, err := event.ParseFacility(event.FacilityName(code))
		require.NoError(t, err)
		require.Equal(t, code, back)
	})
}
