package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func compact(t testing.TB, b []byte) string {
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b), "%q", b)
	return buf.String()
}

type member struct{ key, val string }

// checkFields compares EachField with encoding/json's reading of b: the same
// members, in order, with the same keys and values. It must not panic on any
// input.
func checkFields(t testing.TB, b []byte) {
	EachField(b, func(_, _ []byte) bool { return true }) // any input: no panic, no endless loop
	obj := b[SkipSpace(b, 0):]
	if !json.Valid(b) || obj[0] != '{' {
		return
	}
	var want []member
	dec := json.NewDecoder(bytes.NewReader(obj))
	_, err := dec.Token() // {
	require.NoError(t, err)
	for dec.More() {
		key, err := dec.Token()
		require.NoError(t, err)
		var val json.RawMessage
		require.NoError(t, dec.Decode(&val))
		want = append(want, member{key.(string), compact(t, val)})
	}
	var got []member
	all := EachField(obj, func(key, val []byte) bool {
		require.True(t, len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"', "key %q of %q", key, b)
		var k string
		require.NoError(t, json.Unmarshal(key, &k), "key %q of %q", key, b)
		got = append(got, member{k, compact(t, val)})
		return true
	})
	require.True(t, all)
	require.Equal(t, want, got, "%q", b)
}

// checkElements is checkFields for arrays.
func checkElements(t testing.TB, b []byte) {
	EachElement(b, func(int, []byte) bool { return true })
	arr := b[SkipSpace(b, 0):]
	if !json.Valid(b) || arr[0] != '[' {
		return
	}
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal(arr, &raw))
	want := []string{}
	for _, v := range raw {
		want = append(want, compact(t, v))
	}
	got := []string{}
	all := EachElement(arr, func(i int, v []byte) bool {
		require.Equal(t, len(got), i)
		got = append(got, compact(t, v))
		return true
	})
	require.True(t, all)
	require.Equal(t, want, got, "%q", b)
}

func TestEachFieldMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, ` { "a" : 1 , "b" : [ 1 , {"c":"}"} ] , "d" : "x\"y" } `,
		`{"a":null,"a":true,"\u0061":false}`, `{"k\\":"v\\","e":-1.5e3,"o":{"p":{"q":[]}}}`, "{\"\xff\":\"\xfe\"}",
		`[]`, `"x"`, `{`, `{"a"`, `{"a":`, `{"a":}`, `{"a":1,`, `{"\`, `{"a":"\`, `{"a"::}`, ``, `}`,
	} {
		checkFields(t, []byte(s))
	}
	var keys []string
	all := EachField([]byte(`{"a":1,"b":2,"c":3}`), func(key, _ []byte) bool {
		keys = append(keys, string(key))
		return len(keys) < 2
	})
	require.False(t, all)
	require.Equal(t, []string{`"a"`, `"b"`}, keys, "stops when fn says so")
}

func TestEachElementMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, ` [ 1 , "a]" , {"b":[2,3]} , [[]] , null , -0.5 ] `, `["\\",{"\\":"\""}]`,
		`{}`, `[`, `[1,`, `[,]`, `[}`, `[1 2]`, `["\`, ``, `]`,
	} {
		checkElements(t, []byte(s))
	}
}

func FuzzEachField(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"}"}],"c":"\"","d":null}`, ` { "x" : 1 } `, `{"a":`, `{"\\":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFields(t, b) })
}

func FuzzEachElement(f *testing.F) {
	for _, s := range []string{`[1,"]",{"a":[]},[[null]]]`, ` [ true , false ] `, `[,`, `["\\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkElements(t, b) })
}

func TestSkipSpace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		from int
		want int
	}{
		{"", 0, 0}, {"x", 0, 0}, {" \t\r\nx", 0, 4}, {"  ", 0, 2}, {"a \u00a0", 1, 2}, {"\v\f", 0, 0}, {"ab", 2, 2},
	} {
		require.Equal(t, tc.want, SkipSpace([]byte(tc.in), tc.from), "%q from %d", tc.in, tc.from)
	}
}
