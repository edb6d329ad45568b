package ingest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// TestAppendEnvelopeMatchesMarshal keeps the hand-written encoder in step
// with event.Envelope: every field it knows, and nothing else.
func TestAppendEnvelopeMatchesMarshal(t *testing.T) {
	t.Parallel()
	known := []string{"event_id", "received_at", "correlation_id", "source", "hostname", "message", "timestamp", "severity", "trap_oid", "app_name", "facility", "event"}
	var tags []string
	rt := reflect.TypeFor[event.Envelope]()
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		tags = append(tags, tag)
	}
	require.Equal(t, known, tags, "event.Envelope changed: update appendEnvelope")

	sev := 0
	loc := time.FixedZone("", -(9*3600 + 30*60))
	for _, e := range []event.Envelope{
		{EventID: "0193b0c2-0000-7000-8000-000000000000", ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 120000000, time.UTC),
			CorrelationID: "c", Source: "http", Hostname: "h", Message: "m",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, loc), Original: json.RawMessage(`{"a":1}`)},
		{EventID: "x", Source: "snmp", Hostname: "ünï\"\\\n\r\t\x01\x1f<>&\u2028\u2029\xff", Message: "SNMP trap 1.3: [1]",
			Severity: &sev, TrapOID: "1.3", Original: json.RawMessage(`{"b":[1,2,{"c":null}]}`)},
		{EventID: "y", Source: "syslog_tcp", Hostname: "h", Message: "m", Severity: &sev, AppName: "sshd\"x",
			Facility: &sev, Original: json.RawMessage(`{"app_name":"sshd"}`)},
		{},
	} {
		got := appendEnvelope(nil, &e)
		require.True(t, json.Valid(got), "%s", got)
		want, err := json.Marshal(&e)
		require.NoError(t, err)
		var g, w map[string]any
		require.NoError(t, json.Unmarshal(got, &g))
		require.NoError(t, json.Unmarshal(want, &w))
		require.Equal(t, w, g)
	}
}

// TestEncodePayloadsIsAppendEnvelope: the stamp copied from the envelope
// before is the one appendEnvelope would write, and a different one is not
// copied (another correlation id or source, another instant, or the same
// instant in another zone).
func TestEncodePayloadsIsAppendEnvelope(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 2, 3, 4, 5, 120000000, time.UTC)
	e := event.Envelope{EventID: "id", ReceivedAt: at, CorrelationID: "c", Source: "http", Hostname: "h", Message: "m",
		Timestamp: at, Original: json.RawMessage(`{"a":1}`)}
	envs := []event.Envelope{e, e, e, e, e, e, e}
	envs[1].EventID, envs[1].Hostname = "id2", "h\"2"
	envs[2].CorrelationID = "c2"
	envs[3].Source = "snmp"
	envs[4].ReceivedAt = at.Add(time.Nanosecond)
	envs[5].ReceivedAt = at.In(time.FixedZone("", 3600))
	envs[6].ReceivedAt = at.In(time.FixedZone("", 3600))
	got := encodePayloads(envs)
	require.Len(t, got, len(envs))
	for i := range envs {
		require.Equal(t, string(appendEnvelope(nil, &envs[i])), string(got[i]), "envelope %d", i)
	}
}

// TestWriteQueuedIsWriteJSON: the hand-written 200 answer is what
// telemetry.WriteJSON writes for it, status, headers and bytes.
func TestWriteQueuedIsWriteJSON(t *testing.T) {
	t.Parallel()
	for _, q := range []queued{
		{Status: "queued", CorrelationID: "0123456789abcdef0123456789abcdef", QueueDepth: 12345678901, Count: 2,
			EventIDs: []string{"0193b0c2-0000-7000-8000-000000000000", "0193b0c2-0000-7000-8000-000000000001"}},
		{Status: "queued", CorrelationID: "a.b_c:d-E", Count: 0, EventIDs: []string{}},
		{Status: "queued", CorrelationID: "c", QueueDepth: -1},
		{Status: "queued", CorrelationID: "<&>\u2028\"\\\x01\xff", EventIDs: []string{"x"}},
		{Status: "queued", CorrelationID: "c\u2028", EventIDs: []string{"é\u2029\xfe\"\\\n"}},
	} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		telemetry.WriteJSON(want, http.StatusOK, q)
		writeQueued(got, &q)
		require.Equal(t, want.Code, got.Code)
		require.Equal(t, want.Header(), got.Header())
		require.Equal(t, want.Body.String(), got.Body.String())
	}
}

// TestBucketKeysFollowTheMinute: the kept counter keys are those of the
// minute asked for, in UTC, and change with it.
func TestBucketKeysFollowTheMinute(t *testing.T) {
	t.Parallel()
	s := &Server{keys: keyspace.New("p:", 1)}
	want := func(at time.Time) [len(rateBuckets)]string {
		var k [len(rateBuckets)]string
		for i, b := range rateBuckets {
			k[i] = s.keys.RateBucket(b.res, at.UTC().Format(b.layout))
		}
		return k
	}
	at := time.Date(2025, 12, 31, 23, 59, 0, 0, time.FixedZone("", 3600))
	for _, d := range []time.Duration{0, 30 * time.Second, 59 * time.Second, time.Minute, 90 * time.Second, -time.Hour, 0} {
		require.Equal(t, want(at.Add(d)), *s.bucketKeys(at.Add(d)), "%v", at.Add(d))
	}
	require.Equal(t, "p:metrics:24h:2025-12-31", s.bucketKeys(time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC))[2])
}
