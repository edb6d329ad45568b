package jsonenc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// encodeString is encoding/json's encoding of s with HTML escaping off.
func encodeString(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// checkString compares AppendString with encoding/json, and with json.Marshal
// itself where HTML escaping makes no difference.
func checkString(t testing.TB, s string) {
	got := string(AppendString(nil, s))
	require.Equal(t, encodeString(t, s), got, "%q", s)
	if !strings.ContainsAny(s, "<>&") {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), got, "%q", s)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", "\"\\/", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "é日本\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80",
		"<>&", "\ufffd", "a\"b\\c\nd",
	} {
		checkString(t, s)
	}
	// Go 1.22 and later write \b and \f short; AppendString follows the
	// encoding/json it is built with (the comparison above), this pins it.
	require.Equal(t, `"\b\f"`, string(AppendString(nil, "\b\f")))
	require.Equal(t, `x"a"`, string(AppendString([]byte("x"), "a")), "appends to dst")
}

func TestAppendStringMember(t *testing.T) {
	t.Parallel()
	require.Equal(t, `{"a":"x\"y"`, string(AppendStringMember([]byte("{"), `"a":`, `x"y`)))
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "\x00", "\b\f", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func checkTime(t testing.TB, tm time.Time) {
	want, err := tm.MarshalJSON()
	if err != nil {
		return // out of MarshalJSON's range: AppendTime's callers never pass it
	}
	require.Equal(t, string(want), string(AppendTime(nil, tm)), "%v", tm)
}

func TestAppendTimeMatchesMarshalJSON(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		{},
		time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2025, 1, 2, 3, 4, 5, 120000000, time.UTC),
		time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", -(9*3600+30*60))),
		time.Date(2025, 1, 2, 3, 4, 5, 1, time.FixedZone("CET", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", 23*3600+59*60)),
		time.Now(),
	} {
		checkTime(t, tm)
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1735787045), int64(123456789), 0)
	f.Add(int64(-62135596800), int64(0), -34200)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		// Fold the inputs into MarshalJSON's range (years 0-9999, offsets
		// under a day) so that most of them are compared, not skipped.
		const year0, span = -62167219200, 62167219200 + 253402300800
		sec = year0 + (sec%span+span)%span
		offset %= 24 * 3600
		checkTime(t, time.Unix(sec, nsec).In(time.FixedZone("", offset)))
	})
}

// TestAppendStringWordAtATime puts every byte that needs a look at every
// position of words read eight bytes at a time, next to plain ones.
func TestAppendStringWordAtATime(t *testing.T) {
	t.Parallel()
	special := []string{"\"", "\\", "\x7f", "\x80", "\xff", "\u2028", "é", " ", "~", "!", "#", "[", "]"}
	for c := range byte(0x20) {
		special = append(special, string([]byte{c}))
	}
	plain := "abcdefghijklmnopqrstuvwxyz"
	for _, sp := range special {
		for p := range 20 {
			checkString(t, plain[:p]+sp+plain[p:])
		}
	}
}
