package jsonenc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a" 1}`, `{a:1}`, `{"a":1}x`, ` {"a":[1,2,{"b":null}]} `,
		`"x"`, `"\u00e9\n\"\\\/\b\f\r\t"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01\"", "\"\xff\"", `"abc`,
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `-12.5e10`, `.5`, `+1`, `1 2`,
		`true`, `tru`, `false`, `nul`, `null`, `nulll`, `{"a":tru}`, `[true false]`, `{"a":1 "b":2}`,
	} {
		require.Equal(t, json.Valid([]byte(s)), Valid([]byte(s)), "%q", s)
	}
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	require.True(t, Valid(deep(maxNesting)))
	require.Equal(t, json.Valid(deep(maxNesting)), Valid(deep(maxNesting)))
	require.False(t, Valid(deep(maxNesting+1)))
	require.Equal(t, json.Valid(deep(maxNesting+1)), Valid(deep(maxNesting+1)))
	obj := []byte(strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1))
	require.Equal(t, json.Valid(obj), Valid(obj))
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,"x\u0041",true,false,null]}`, `[`, `"\`, `-01`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		require.Equal(t, json.Valid(b), Valid(b), "%q", b)
	})
}

// checkCheckValue: without limits CheckValue answers as Valid; with limits it
// refuses exactly the values nested too deep or holding too long a string
// (as encoding/json decodes them), and only valid JSON gets a limit fault.
func checkCheckValue(t testing.TB, b []byte) {
	i := SkipSpace(b, 0)
	end, fault := CheckValue(b, i, 0, Limits{MaxDepth: maxNesting})
	whole := fault == FaultNone && SkipSpace(b, end) == len(b)
	require.Equal(t, json.Valid(b), whole, "%q", b)
	if !json.Valid(b) {
		return
	}
	_, fault = CheckValue(b, i, 0, Limits{MaxDepth: 3, MaxString: 4})
	// UseNumber: a valid number too large for a float64 is still valid JSON.
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&v))
	depth, long := measure(v, 0)
	switch {
	case fault == FaultDepth:
		require.Greater(t, depth, 3, "%q", b)
	case fault == FaultString:
		require.True(t, long, "%q", b)
	default:
		require.Equal(t, FaultNone, fault, "%q", b)
		require.LessOrEqual(t, depth, 3, "%q", b)
		require.False(t, long, "%q", b)
	}
}

// measure returns the nesting depth of v and whether it holds a string or
// key longer than 4 bytes.
func measure(v any, depth int) (int, bool) {
	switch x := v.(type) {
	case string:
		return depth, len(x) > 4
	case []any:
		d, long := depth+1, false
		for _, e := range x {
			ed, el := measure(e, depth+1)
			d, long = max(d, ed), long || el
		}
		return d, long
	case map[string]any:
		d, long := depth+1, false
		for k, e := range x {
			ed, el := measure(e, depth+1)
			d, long = max(d, ed), long || el || len(k) > 4
		}
		return d, long
	}
	return depth, false
}

func TestCheckValue(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{}`, `[[[]]]`, `[[[[]]]]`, `{"a":{"b":{"c":1}}}`, `"abcd"`, `"abcde"`, `"\u00e9\u00e9"`,
		`"\u00e9\u00e9\u00e9"`, `{"abcde":1}`, `[1,"x",{"y":[true]}]`, `[tru]`, `{"a":1,}`, `01`, `"a\x"`} {
		checkCheckValue(t, []byte(s))
	}
	_, fault := CheckValue([]byte(`[1,[2,[3,[4]]]]`), 0, 0, Limits{MaxDepth: 3})
	require.Equal(t, FaultDepth, fault)
	_, fault = CheckValue([]byte(`{"k":"\u00e9\u00e9\u00e9"}`), 0, 0, Limits{MaxDepth: 9, MaxString: 5})
	require.Equal(t, FaultString, fault)
	end, fault := CheckValue([]byte(`[1,2] ,`), 0, 0, Limits{MaxDepth: 9})
	require.Equal(t, FaultNone, fault)
	require.Equal(t, 5, end)
}

func FuzzCheckValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,"x\u0041",true,false,null]}`, `[[[[1]]]]`, `"abcdef"`, `{"abcdef":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkCheckValue(t, b) })
}
