package jsonenc

import (
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
