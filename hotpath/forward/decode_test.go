package forward

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

// checkDecode compares the fast decoder with encoding/json on data: checking
// everything, it must accept exactly what encoding/json accepts and give the
// same alert; trusting the original (decodeAlert), it may also accept an
// entry whose only fault is the original's grammar.
func checkDecode(t testing.TB, data []byte) {
	var want event.Alert
	wantErr := json.Unmarshal(data, &want)
	for _, trust := range []bool{false, true} {
		var got event.Alert
		var gotErr error
		if trust {
			gotErr = decodeAlert(data, &got)
		} else if !readAlert(data, &got, false) {
			got = event.Alert{}
			gotErr = json.Unmarshal(data, &got)
		}
		if wantErr != nil && gotErr == nil {
			require.True(t, trust, "%q: accepted what encoding/json refuses: %v", data, wantErr)
			require.False(t, json.Valid(got.Original), "%q: accepted with a valid original: %v", data, wantErr)
			continue
		}
		require.Equal(t, wantErr == nil, gotErr == nil, "%q: %v / %v", data, wantErr, gotErr)
		if wantErr != nil {
			require.Equal(t, wantErr.Error(), gotErr.Error())
			continue
		}
		// time.Time keeps a monotonic/location detail that Equal ignores; compare those apart.
		require.True(t, want.ReceivedAt.Equal(got.ReceivedAt), "%q", data)
		require.True(t, want.EventTime.Equal(got.EventTime), "%q", data)
		require.Equal(t, want.ReceivedAt.Location().String(), got.ReceivedAt.Location().String())
		w := want
		w.ReceivedAt, got.ReceivedAt, w.EventTime, got.EventTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		require.Equal(t, w, got, "%q", data)
	}
	// accept's decoder, which shares one buffer among the strings of a
	// read: data decoded after another alert gives the same alert, and the
	// other alert's strings are left as they were.
	var d decoder
	var first, got event.Alert
	require.NoError(t, d.decode([]byte(`{"event_id":"first","hostname":"h1","severity":6}`), &first))
	if err := d.decode(data, &got); err == nil && wantErr == nil {
		var again event.Alert
		require.NoError(t, decodeAlert(data, &again))
		require.Equal(t, again, got, "%q", data)
	}
	require.Equal(t, "first", first.EventID)
	require.Equal(t, "h1", first.Hostname)

	// The same alert as an element of an array entry (ADR 0049): decoded
	// alike, and its end found, without scanning it apart.
	if wantErr == nil {
		arr := append(append([]byte("["), data...), `, {"event_id":"next"}]`...)
		var el, whole event.Alert
		end, err := d.decodeAt(arr, 1, &el)
		require.NoError(t, err, "%q", data)
		require.NoError(t, decodeAlert(data, &whole))
		require.Equal(t, whole, el, "%q", data)
		require.Equal(t, strings.TrimSpace(string(data)), strings.TrimSpace(string(arr[1:end])), "%q", data)
	}
}

func TestDecodeAlertMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	sev := 2
	full, err := json.Marshal(event.Alert{EventID: "e1", CorrelationID: "c", ReceivedAt: time.Now(),
		EventTime: time.Now().Add(-time.Hour), Hostname: "h", RuleID: 9, Handling: "page_only",
		Environment: "dev", Team: "T", Severity: &sev, Description: "d", Signature: "s", Meta: true,
		Original: json.RawMessage(`{"a":[1,"]"]}`)})
	require.NoError(t, err)
	for _, s := range []string{
		string(full),
		`{"event_id":"e","severity":null,"rule_id":null,"meta":null,"event":null,"team":null}`,
		`{"event_id":"e","severity":3,"severity":null}`,
		`{"event_id":"a\"b","hostname":"\u00e9","description":"x\ny"}`,
		`{"EVENT_ID":"upper","event_id":"lower"}`, `{"Event_Id":"mixed"}`, `{"\u0065vent_id":"escaped"}`,
		`{"rule_id":7.0}`, `{"rule_id":"7"}`, `{"severity":1e2}`, `{"meta":1}`, `{"received_at":"yesterday"}`,
		`{"received_at":"2025-01-02T03:04:05.123456789+02:00","event_time":null}`,
		`{"unknown":{"deep":[1,{"x":"}"}]},"event_id":"e"}`, `{"hostname":"\xff"}`, `{"event_id":5}`,
		`null`, `[]`, `"x"`, `{`, ``, `  {  "event_id" : "sp" , "event" : [ 1 , 2 ] }  `,
		`{"event":{"a":tru},"event_id":"e"}`, `{"event":[1,}`, `{"event":{"a":1}]}`, `{"event":}`, `{} x`,
	} {
		checkDecode(t, []byte(s))
	}
}

func TestDecodeAlertKnowsEveryField(t *testing.T) {
	t.Parallel()
	// A field added to event.Alert must be added to the fast decoder too.
	typ := reflect.TypeFor[event.Alert]()
	var names []string
	for i := range typ.NumField() {
		names = append(names, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	require.ElementsMatch(t, names, alertFields)
}

func FuzzDecodeAlertMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"event_id":"e","severity":3,"rule_id":4,"meta":true,"event":{"a":1}}`,
		`{"received_at":"2025-01-02T03:04:05Z","EVENT_ID":"x"}`, `{"severity":null}`, `{"rule_id":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}

func BenchmarkDecodeAlert(b *testing.B) {
	sev := 2
	data, _ := json.Marshal(event.Alert{EventID: "0195f1c2-aaaa-7bbb-8ccc-000000000001", CorrelationID: "corr-1",
		ReceivedAt: time.Now(), EventTime: time.Now(), Hostname: "core-sw-01", RuleID: 42, Handling: "page_and_ticket",
		Environment: "prod", Team: "NETO", Severity: &sev, Description: "Link down on Gi0/1", Signature: "core-sw-01:42",
		Original: json.RawMessage(`{"hostname":"core-sw-01","message":"Link down on Gi0/1","timestamp":"2025-01-01T00:00:00Z"}`)})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a event.Alert
			_ = decodeAlert(data, &a)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a event.Alert
			_ = json.Unmarshal(data, &a)
		}
	})
}
