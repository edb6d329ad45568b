package alert

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/rules"
	"github.com/mutt-ops/mutt/internal/stream"
)

// benchEnvelope is a typical stream entry: an HTTP event as the ingestor
// writes it.
func benchEnvelope(tb testing.TB) []byte {
	tb.Helper()
	sev := 3
	now := time.Date(2026, 12, 2, 3, 4, 5, 123456789, time.UTC)
	data, err := json.Marshal(event.Envelope{
		EventID: "0195f1c2-aaaa-7bbb-8ccc-000000000001", ReceivedAt: now, CorrelationID: "corr-0a1b2c3d",
		Source: event.SourceHTTP, Hostname: "router1.prod.example.com",
		Message: "%LINK-3-UPDOWN: Interface GigabitEthernet0/12, changed state to down", Timestamp: now,
		Severity: &sev,
		Original: json.RawMessage(`{"hostname":"router1.prod.example.com","message":"%LINK-3-UPDOWN: Interface GigabitEthernet0/12, changed state to down","timestamp":"2026-12-02T03:04:05.123456789Z","syslog_severity":3,"site":"fra1","tags":["core","edge"]}`),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecodeEnvelope: decoding one ingest stream entry, as the alerter
// does for every event.
func BenchmarkDecodeEnvelope(b *testing.B) {
	data := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		var env event.Envelope
		var id uuid.UUID
		if err := decodeEnvelope(data, &env, &id); err != nil {
			b.Fatal(err)
		}
	}
}

// checkEnvelope compares decodeEnvelope's fast path with encoding/json on
// data: checking everything, it must accept exactly what encoding/json
// accepts and give the same envelope; trusting the original, it may also
// accept an entry whose only fault is the original's grammar.
func checkEnvelope(t testing.TB, data []byte) {
	var want event.Envelope
	wantErr := json.Unmarshal(data, &want)
	for _, trust := range []bool{false, true} {
		var got event.Envelope
		if !readEnvelope(data, &got, trust) {
			got = event.Envelope{}
			if err := json.Unmarshal(data, &got); err != nil {
				require.Error(t, wantErr, "%q", data)
				continue
			}
		}
		if wantErr != nil {
			require.True(t, trust, "%q: accepted what encoding/json refuses: %v", data, wantErr)
			require.False(t, json.Valid(got.Original), "%q: accepted with a valid original: %v", data, wantErr)
			continue
		}
		require.True(t, want.ReceivedAt.Equal(got.ReceivedAt), "%q", data)
		require.True(t, want.Timestamp.Equal(got.Timestamp), "%q", data)
		require.Equal(t, want.ReceivedAt.Location().String(), got.ReceivedAt.Location().String(), "%q", data)
		require.Equal(t, want.Timestamp.Location().String(), got.Timestamp.Location().String(), "%q", data)
		w, g := want, got
		w.ReceivedAt, g.ReceivedAt, w.Timestamp, g.Timestamp = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		require.Equal(t, w, g, "%q", data)
	}
	// The same envelope as an element of an array entry (ADR 0048):
	// decoded alike, its end found as it is read.
	var whole event.Envelope
	var wholeID uuid.UUID
	wholeErr := decodeEnvelope(data, &whole, &wholeID)
	if wantErr != nil || wholeErr != nil {
		return
	}
	arr := append(append([]byte("["), data...), `, {"event_id":"next"}]`...)
	var el event.Envelope
	var elID uuid.UUID
	end, err := decodeEnvelopeAt(arr, 1, &el, &elID)
	require.NoError(t, err, "%q", data)
	require.Equal(t, whole, el, "%q", data)
	require.Equal(t, wholeID, elID)
	require.Equal(t, strings.TrimSpace(string(data)), strings.TrimSpace(string(arr[1:end])), "%q", data)
}

var envelopeCases = []string{
	`{"event_id":"e","severity":null,"facility":null,"event":null,"hostname":null}`,
	`{"event_id":"e","severity":3,"severity":null,"facility":23}`,
	`{"event_id":"a\"b","hostname":"\u00e9","message":"x\ny"}`,
	`{"EVENT_ID":"upper","event_id":"lower"}`, `{"Event_Id":"mixed"}`, `{"\u0065vent_id":"escaped"}`,
	`{"severity":7.0}`, `{"severity":"7"}`, `{"facility":1e2}`, `{"severity":-0}`, `{"received_at":"yesterday"}`,
	`{"received_at":"2025-01-02T03:04:05.123456789+02:00","timestamp":null}`,
	`{"unknown":{"deep":[1,{"x":"}"}]},"event_id":"e"}`, "{\"hostname\":\"\xff\"}", `{"event_id":5}`,
	`{"message":"caf` + "\u00e9" + ` ok"}`, `{"severity":99999999999999999999}`,
	`null`, `[]`, `"x"`, `{`, ``, `{}`, `{} x`, `{"a":1,}`, `{"a" 1}`, `{"event":}`, `{"event":[1,2}`,
	`  {  "event_id" : "sp" , "event" : [ 1 , 2 ] }  `,
	`{"event":{"a":tru},"event_id":"e"}`, `{"event":{"a":"\x"}}`, `{"event":{"a":1}]}`,
}

func TestDecodeEnvelopeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	checkEnvelope(t, benchEnvelope(t))
	for _, s := range envelopeCases {
		checkEnvelope(t, []byte(s))
	}
}

func TestDecodeEnvelopeKnowsEveryField(t *testing.T) {
	t.Parallel()
	// A field added to event.Envelope must be added to the fast decoder too.
	typ := reflect.TypeFor[event.Envelope]()
	var names []string
	for i := range typ.NumField() {
		names = append(names, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	require.ElementsMatch(t, names, envelopeFields)
}

// TestDecodeEnvelopeErrors: a bad entry is still refused with encoding/json's
// error, and an event_id that is no UUID is named.
func TestDecodeEnvelopeErrors(t *testing.T) {
	t.Parallel()
	var env event.Envelope
	var id uuid.UUID
	err := decodeEnvelope([]byte(`{"event_id":"e1","hostname":7}`), &env, &id)
	require.ErrorContains(t, err, "decode envelope: json: cannot unmarshal number into Go struct field Envelope.hostname of type string")
	err = decodeEnvelope([]byte(`{"event_id":"e1"`), &env, &id)
	require.ErrorContains(t, err, "decode envelope: unexpected end of JSON input")
	err = decodeEnvelope([]byte(`{"event_id":"not-a-uuid","event":{}}`), &env, &id)
	require.ErrorContains(t, err, `decode envelope: event_id "not-a-uuid"`)
	require.NoError(t, decodeEnvelope(benchEnvelope(t), &env, &id))
	require.Equal(t, "0195f1c2-aaaa-7bbb-8ccc-000000000001", id.String())
}

// FuzzDecodeEnvelopeMatchesEncodingJSON is the differential fuzz target of
// the alerter's envelope decoder, encoding/json being the oracle.
func FuzzDecodeEnvelopeMatchesEncodingJSON(f *testing.F) {
	f.Add(benchEnvelope(f))
	for _, s := range envelopeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkEnvelope(t, data) })
}

// FuzzPrepareEntry: whatever an ingest entry holds, prepare never panics and
// loses nothing: the entry is either decoded into events (several when it is
// an array, each with its own bytes) or dead-lettered whole, as written.
func FuzzPrepareEntry(f *testing.F) {
	one := benchEnvelope(f)
	f.Add(one)
	f.Add([]byte("[" + string(one) + "," + string(one) + "]"))
	f.Add([]byte(" [ " + string(one) + " ] "))
	f.Add([]byte("[]"))
	f.Add([]byte("[1]"))
	f.Add([]byte("[" + string(one) + ","))
	f.Add([]byte("[" + string(one) + `,{"event_id":"x"}]`))
	eng, errs := rules.Compile(nil, nil, nil)
	require.Empty(f, errs)
	f.Fuzz(func(t *testing.T, data []byte) {
		a := &Alerter{}
		items, dead := a.prepare(eng, []stream.Entry{{ID: "1-1", Data: data}})
		if len(dead) > 0 {
			require.Len(t, dead, 1)
			require.Empty(t, items)
			require.Equal(t, data, dead[0].Data)
			require.False(t, dead[0].Part)
			return
		}
		batch := bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("["))
		if !batch {
			require.Len(t, items, 1)
		}
		for _, it := range items {
			require.Equal(t, batch, it.part)
			require.True(t, bytes.Contains(data, it.entry.Data))
			require.Equal(t, "1-1", it.entry.ID)
		}
	})
}

// prepare splits an entry that is an array into its events, whitespace
// around it or not, and dead-letters it whole when an element is not an
// envelope.
func TestPrepareSplitsArrays(t *testing.T) {
	one := string(benchEnvelope(t))
	eng, errs := rules.Compile(nil, nil, nil)
	require.Empty(t, errs)
	for _, c := range []struct {
		data        string
		items, dead int
	}{
		{one, 1, 0},
		{"[" + one + "," + one + "]", 2, 0},
		{" \n[ " + one + " ] ", 1, 0},
		{"[]", 0, 0},
		{"[" + one + ",1]", 0, 1},
		{"[" + one + ",", 1, 0}, // unterminated after a whole element: the element is whole
		{"nonsense", 0, 1},
	} {
		items, dead := (&Alerter{}).prepare(eng, []stream.Entry{{ID: "1-1", Data: []byte(c.data)}})
		require.Len(t, items, c.items, c.data)
		require.Len(t, dead, c.dead, c.data)
	}
}
