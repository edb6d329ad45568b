package jsonenc

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkObject compares Object with Valid and EachField: read with Value
// throughout, it accepts exactly what json.Valid accepts among objects and
// yields EachField's members; read with Trusted it accepts at least that.
func checkObject(t testing.TB, b []byte) {
	var got []member
	o := NewObject(b)
	for key, ok := o.Next(); ok; key, ok = o.Next() {
		val := o.Value()
		if val == nil {
			break
		}
		got = append(got, member{string(key), string(val)})
	}
	isObj := json.Valid(b) && b[SkipSpace(b, 0)] == '{'
	require.Equal(t, isObj, o.Valid(), "%q", b)
	_, ok := o.Next() // after the end or an error: stays there
	require.False(t, ok)

	tr := NewObject(b)
	for _, ok := tr.Next(); ok; _, ok = tr.Next() {
		if tr.Trusted() == nil {
			break
		}
	}
	if isObj {
		require.True(t, tr.Valid(), "%q", b)
		var want []member
		EachField(b[SkipSpace(b, 0):], func(key, val []byte) bool {
			want = append(want, member{string(key), string(val)})
			return true
		})
		require.Equal(t, want, got, "%q", b)

		// The same object as an array's first element: read alike, and
		// its end is where EachElement's first value ends.
		arr := append(append([]byte("["), b...), `,{"next":1}]`...)
		el := NewElement(arr, 1)
		var elGot []member
		for key, ok := el.Next(); ok; key, ok = el.Next() {
			elGot = append(elGot, member{string(key), string(el.Value())})
		}
		require.True(t, el.Valid(), "%q", b)
		require.Equal(t, got, elGot, "%q", b)
		var first []byte
		EachElement(arr, func(i int, val []byte) bool { first = val; return false })
		require.Equal(t, string(first), string(arr[SkipSpace(arr, 1):el.End()]), "%q", b)
	}
}

// Elements hands each element's offset to the reader, which says where it
// ended; a reader that stops ends the walk.
func TestElements(t *testing.T) {
	t.Parallel()
	arr := []byte(`[ {"a":1} , {"b":[2]},{} ]`)
	var starts []int
	Elements(arr, func(n, start int) int {
		starts = append(starts, start)
		return ValueEnd(arr, start)
	})
	require.Equal(t, []int{2, 12, 22}, starts)
	starts = nil
	Elements(arr, func(n, start int) int { starts = append(starts, start); return -1 })
	require.Equal(t, []int{2}, starts)
	require.Equal(t, 3, ValueEnd([]byte(`[] `), 3), "no value past the end")
}

var objectCases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"b":[1,{"c":"}"}],"d":"x\"y"}`, `{"a":1,}`, `{"a" 1}`, `{"a":}`,
	`{"a":1} x`, `{"a":1}}`, `{`, ``, `[]`, `null`, `{"a":tru}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}",
	`{"a":[1,2}`, `{1:2}`, `{"a":1 "b":2}`, `{"\u00e9":-0.5e+3}`, `{"a":{"b":{"c":[[[]]]}}}`,
}

func TestObjectMatchesValidAndEachField(t *testing.T) {
	t.Parallel()
	for _, s := range objectCases {
		checkObject(t, []byte(s))
	}
}

func TestObjectMisuse(t *testing.T) {
	t.Parallel()
	o := NewObject([]byte(`{"a":1,"b":2}`))
	_, ok := o.Next()
	require.True(t, ok)
	_, ok = o.Next() // the value was not taken
	require.False(t, ok)
	require.False(t, o.Valid())
	require.Nil(t, o.Value())
	require.Nil(t, o.Trusted())
}

func TestPlainString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"abc"`: "abc", `""`: "", "\"caf\u00e9\"": "café"} {
		got, ok := PlainString([]byte(in))
		require.True(t, ok, in)
		require.Equal(t, want, got)
	}
	for _, in := range []string{`"a\"b"`, `"\u0041"`, "\"\xff\"", `7`, `null`, ``} {
		_, ok := PlainString([]byte(in))
		require.False(t, ok, in)
	}
}

func FuzzObject(f *testing.F) {
	for _, s := range objectCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkObject(t, b) })
}
