package moogsim

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// reference is ParseEvents written plainly with encoding/json.
func reference(body []byte) ([][]byte, []string, bool) {
	if i := jsonenc.SkipSpace(body, 0); i >= len(body) || body[i] != '{' {
		return nil, nil, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, nil, false
	}
	id := func(raw json.RawMessage) string {
		if len(raw) == 0 || string(raw) == "null" {
			return ""
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	ev, has := top["events"]
	if !has || string(ev) == "null" {
		return [][]byte{body}, []string{id(top["external_id"])}, true
	}
	var arr []json.RawMessage
	if json.Unmarshal(ev, &arr) != nil || len(arr) == 0 {
		return nil, nil, false
	}
	var out [][]byte
	var ids []string
	for _, e := range arr {
		var m map[string]json.RawMessage
		if bytes.TrimSpace(e)[0] != '{' || json.Unmarshal(e, &m) != nil {
			return nil, nil, false
		}
		out = append(out, e)
		ids = append(ids, id(m["external_id"]))
	}
	return out, ids, true
}

func compact(t testing.TB, b []byte) string {
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b))
	return buf.String()
}

func checkAgainstReference(t testing.TB, body []byte) {
	events, ids, err := ParseEvents(body)
	wantEvents, wantIDs, ok := reference(body)
	require.Equal(t, ok, err == nil, "%q: %v", body, err)
	if !ok {
		return
	}
	require.Equal(t, wantIDs, ids, "%q", body)
	require.Len(t, events, len(wantEvents))
	for i := range events {
		require.Equal(t, compact(t, wantEvents[i]), compact(t, events[i]), "%q", body)
	}
}

func TestParseEventsAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"external_id":"a"}`, ` { "external_id" : "a" , "x" : [1, {"y":"}"}] } `,
		`{"events":[{"external_id":"a"}, {"external_id":1.5e3}, {"z":true,"external_id":null}]}`,
		`{"events":null,"external_id":"x"}`, `{"\u0065vents":[{"external_id":"\u00e9"}]}`,
		`{"events":[{"external_id":"q\"uote"}],"events":[{"external_id":"last"}]}`,
		`{"external_id":{"nested":[1,2]}}`, `{"external_id":"\xff"}`,
		`{"events":[]}`, `{"events":[1]}`, `{"events":{}}`, `{"events":"x"}`, `[]`, `null`, `"s"`, `{`, ``,
		`{"events":[{"a":"\\"},{"external_id":"b\\"}]}`,
	} {
		checkAgainstReference(t, []byte(body))
	}
}

func FuzzParseEventsAgainstEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"external_id":"a"}`, `{"events":[{"external_id":"a"},{"external_id":1}]}`,
		`{"events":null}`, `[]`, `{"events":[[]]}`, `{"external_id":{"x":1}}`, `{"a":"\\\"","events":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAgainstReference(t, body)
	})
}
