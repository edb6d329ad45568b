package moogsim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// checkSplit: the one-pass split accepts exactly the bodies parseSlow
// accepts, and finds the same events, ids and received_at.
func checkSplit(t *testing.T, body []byte) {
	var fast, slow parsed
	ok := fast.split(body)
	err := slow.parseSlow(body)
	require.Equal(t, err == nil, ok, "%q: %v", body, err)
	if ok {
		require.Equal(t, slow, fast, "%q", body)
	}
}

func TestSplitAgreesWithParseSlow(t *testing.T) {
	t.Parallel()
	received := `"2025-03-04T04:06:07.891Z"`
	for _, body := range []string{
		`{"external_id":"a","custom_info":{"received_at":` + received + `}}`,
		` {"events":[{"external_id":"a","custom_info":{"received_at":` + received + `,"x":[1,{"y":"}"}]}}, {"z":null}]} `,
		`{"events":[{"external_id":"a"}],"events":null,"external_id":"top"}`,
		`{"events":null,"events":[{"external_id":"b"}]}`,
		`{"events":[{"custom_info":{"received_at":1}},{"custom_info":{"received_at":"x"},"custom_info":5}]}`,
		`{"events":[{"custom_info":{"received_at":"x"},"custom_info":{}}]}`,
		`{"\u0065vents":[{"external_\u0069d":"\u00e9","custom_info":{"received_\u0061t":"t"}}]}`,
		`{"events":[]}`, `{"events":[1]}`, `{"events":{}}`, `{"events":"x"}`, `{"events":nul}`, `[]`, `{`, ``,
		`{"events":[{"a":1},]}`, `{"events":[{"a":1}]`, `{"events":[{"a":1}]}x`, `{"a":"\x01"}`, `{"a" 1}`,
	} {
		checkSplit(t, []byte(body))
	}
	// Nested values are walked up to a depth, then left to jsonenc, which
	// holds encoding/json's limit of 10000 levels.
	for _, n := range []int{10, 20, 9997, 9998, 9999, 10000} {
		nest := strings.Repeat(`[{"a":`, n/2) + strings.Repeat("[", n%2) + `"x"` + strings.Repeat("]", n%2) + strings.Repeat("}]", n/2)
		checkSplit(t, []byte(`{"external_id":`+nest+`}`))
		checkSplit(t, []byte(`{"events":[{"external_id":"a","e":`+nest+`}]}`))
	}
	// Strings are checked eight bytes at a time: a quote, backslash or
	// control character at every offset, and strings cut short.
	for n := range 20 {
		for _, c := range []string{`"`, `\"`, `\n`, `\u00e9`, "\x01", "\x1f", " ", "\x7f", "\xff", `\`, `\x`} {
			str := strings.Repeat("a", n) + c + strings.Repeat("b", 20-n)
			checkSplit(t, []byte(`{"external_id":"`+str+`","x":1}`))
			checkSplit(t, []byte(`{"k`+str+`":1}`))
			checkSplit(t, []byte(`{"events":[{"a":"`+str))
		}
	}
}

func FuzzSplitAgreesWithParseSlow(f *testing.F) {
	for _, s := range []string{`{"external_id":"a","custom_info":{"received_at":"2025-03-04T04:06:07Z"}}`,
		`{"events":[{"external_id":"a"},{"external_id":1}]}`, `{"events":null}`, `[]`, `{"events":[[]]}`,
		`{"events":[{"custom_info":{"received_at":"x"}}],"events":null}`, `{"a":"\\\"","events":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSplit(t, body)
	})
}

// oldKeyOf is keyOf as it was, with strings.ToLower and uuid.Parse.
func oldKeyOf(id string) idKey {
	if len(id) == 36 && strings.ToLower(id) == id {
		if u, err := uuid.Parse(id); err == nil {
			return idKey{u: u, isUUID: true}
		}
	}
	return idKey{s: id}
}

func FuzzKeyOf(f *testing.F) {
	for _, s := range []string{"0195f1c2-aaaa-7bbb-8ccc-000000000001", "0195F1C2-AAAA-7BBB-8CCC-000000000001",
		"0195f1c2-aaaa-7bbb-8ccc-00000000000g", "0195f1c2aaaa-7bbb-8ccc-0000000000001", "plain", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		require.Equal(t, oldKeyOf(id), keyOf(id))
		raw := []byte(`"` + id + `"`)
		if strings.ContainsAny(id, "\"\\") || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 }) {
			return // not a JSON string token as written
		}
		k, ok := rawKeyOf(raw)
		require.Equal(t, id != "", ok)
		require.Equal(t, oldKeyOf(unquote(raw)), k)
	})
}

func FuzzReceivedAt(f *testing.F) {
	for _, s := range []string{"2025-03-04T04:06:07.891Z", "2025-03-04T04:06:07Z", "2024-02-29T23:59:59.123456789Z",
		"2023-02-29T00:00:00Z", "2025-03-04T04:06:07.1234567891Z", "2025-03-04T04:06:07.Z", "0000-01-01T00:00:00Z",
		"2025-03-04T04:06:07+01:00", "2025-03-04t04:06:07z", "2025-13-04T04:06:07Z", "2025-03-04T24:06:07Z", "2025-03-04T04:06:60Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(time.RFC3339Nano, s)
		if got, ok := parseUTC([]byte(s)); ok {
			require.NoError(t, err, "%q", s)
			require.True(t, want.Equal(got), "%q: %v, want %v", s, got, want)
		}
		if strings.ContainsAny(s, "\"\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
			return
		}
		got, ok := receivedAt([]byte(`"` + s + `"`))
		require.Equal(t, err == nil, ok, "%q", s)
		require.True(t, want.Equal(got), "%q", s)
	})
}

func TestParseUTCTakesWhatMUTTWrites(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{time.Date(2025, 3, 4, 4, 6, 7, 891000000, time.UTC), time.Date(2025, 3, 4, 4, 6, 7, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC), time.Now().UTC()} {
		got, ok := parseUTC(at.AppendFormat(nil, time.RFC3339Nano))
		require.True(t, ok, at)
		require.True(t, at.Equal(got), at)
	}
}
