package ingest

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

var testStamp = stamp{correlationID: "cid-1", receivedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}

func testDecoder() *decoder {
	return &decoder{maxBatch: 5, maxField: 128, maxDepth: 4, newID: uuid.NewV7}
}

// ev is a valid syslog event with the given hostname.
func ev(host string) string {
	return fmt.Sprintf(`{"hostname":%q,"message":"link down","timestamp":"2025-01-02T03:04:05.1234567Z"}`, host)
}

func sevp(n int) *int { return &n }

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	ts := time.Date(2025, 1, 2, 3, 4, 5, 123456700, time.UTC)
	type want struct {
		host, msg, oid string
		sev            *int
		original       string // "" means: the event's own bytes
		ts             time.Time
	}
	for _, tc := range []struct {
		name string
		body string
		want []want
	}{
		{"object", ev("r1"), []want{{host: "r1", msg: "link down", ts: ts}}},
		{"object with surrounding space", " \r\n\t" + ev("r1") + "\n\n", []want{{host: "r1", msg: "link down", ts: ts, original: ev("r1")}}},
		{"byte order mark", "\ufeff" + ev("r1"), []want{{host: "r1", msg: "link down", ts: ts, original: ev("r1")}}},
		{"array", "[" + ev("r1") + ",\n " + ev("r2") + "]", []want{
			{host: "r1", msg: "link down", ts: ts, original: ev("r1")},
			{host: "r2", msg: "link down", ts: ts, original: ev("r2")}}},
		{"ndjson with blank lines and CRLF", ev("r1") + "\r\n\r\n" + ev("r2") + "\n\n" + ev("r3") + "\r\n", []want{
			{host: "r1", msg: "link down", ts: ts, original: ev("r1")},
			{host: "r2", msg: "link down", ts: ts, original: ev("r2")},
			{host: "r3", msg: "link down", ts: ts, original: ev("r3")}}},
		{"batch of exactly the limit", "[" + strings.Repeat(ev("r")+",", 4) + ev("r") + "]", []want{
			{host: "r", msg: "link down", ts: ts, original: ev("r")}, {host: "r", msg: "link down", ts: ts, original: ev("r")},
			{host: "r", msg: "link down", ts: ts, original: ev("r")}, {host: "r", msg: "link down", ts: ts, original: ev("r")},
			{host: "r", msg: "link down", ts: ts, original: ev("r")}}},
		{"pretty-printed bytes kept", "{\n  \"hostname\": \"r1\",\n  \"message\": \"x\",\n  \"timestamp\": \"2025-01-02T03:04:05Z\"\n}",
			[]want{{host: "r1", msg: "x", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"rsyslog shape, severity text", `{"timestamp":"2025-01-02T03:04:05+01:00","hostname":"sw1","severity":"warning","facility":"local0","message":"a \"quoted\" \u00e9 msg","source":"syslog"}`,
			[]want{{host: "sw1", msg: `a "quoted" é msg`, sev: sevp(4), ts: time.Date(2025, 1, 2, 2, 4, 5, 0, time.UTC)}}},
		{"rsyslog severity unknown is ignored", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","severity":"bogus"}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"syslog_severity name wins over severity", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","syslog_severity":"Critical","severity":"debug"}`,
			[]want{{host: "h", msg: "m", sev: sevp(2), ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"syslog_severity number", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","syslog_severity":4}`,
			[]want{{host: "h", msg: "m", sev: sevp(4), ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"syslog_severity null is absent", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","syslog_severity":null,"severity":"err"}`,
			[]want{{host: "h", msg: "m", sev: sevp(3), ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"lower-case t and z", `{"hostname":"h","message":"m","timestamp":"2025-01-02t03:04:05.5z"}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 5e8, time.UTC)}}},
		{"twelve fractional digits", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05.123456789012Z"}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)}}},
		{"snmp trap with source_ip and variables", `{"source_ip":"10.0.0.1","timestamp":"2025-01-02T03:04:05.1234567Z","trap_oid":".1.3.6.1.6.3.1.1.5.1","variables":[ "@{oid=1.3.6.1.2.1.1.3.0; value=42}" , {"oid":"1.3","value":1} ],"severity":"Major"}`,
			[]want{{host: "10.0.0.1", msg: `SNMP trap 1.3.6.1.6.3.1.1.5.1: ["@{oid=1.3.6.1.2.1.1.3.0; value=42}",{"oid":"1.3","value":1}]`,
				oid: "1.3.6.1.6.3.1.1.5.1", sev: sevp(3), ts: ts}}},
		{"trap keeps hostname and message when given", `{"hostname":"core1","source_ip":"10.0.0.1","message":"cold start","trap_oid":"1.3.6","variables":{"a":1},"timestamp":"2025-01-02T03:04:05.1234567Z"}`,
			[]want{{host: "core1", msg: "cold start", oid: "1.3.6", ts: ts}}},
		{"reserved fields stripped, order kept", `{"_retry_count":99,"hostname":"h", "_correlation_id":"evil" ,"message":"m","timestamp":"2025-01-02T03:04:05Z","x":{"_keep":1}}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
				original: `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","x":{"_keep":1}}`}}},
		{"escaped reserved key stripped", `{"\u005fretry_count":1,"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
				original: `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"}`}}},
		{"escaped key decoded", `{"host\u006eame":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"}`,
			[]want{{host: "h", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"repeated key: last wins", `{"hostname":"a","hostname":"b","message":"m","timestamp":"2025-01-02T03:04:05Z"}`,
			[]want{{host: "b", msg: "m", ts: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envs, err := testDecoder().decode([]byte(tc.body), testStamp)
			require.NoError(t, err)
			require.Len(t, envs, len(tc.want))
			for i, w := range tc.want {
				e := envs[i]
				require.Equal(t, w.host, e.Hostname)
				require.Equal(t, w.msg, e.Message)
				require.Equal(t, w.oid, e.TrapOID)
				require.Equal(t, w.sev, e.Severity)
				require.True(t, w.ts.Equal(e.Timestamp), "timestamp %v", e.Timestamp)
				require.Equal(t, event.SourceHTTP, e.Source)
				require.Equal(t, "cid-1", e.CorrelationID)
				require.Equal(t, testStamp.receivedAt, e.ReceivedAt)
				id, err := uuid.Parse(e.EventID)
				require.NoError(t, err)
				require.EqualValues(t, 7, id.Version())
				orig := w.original
				if orig == "" {
					orig = strings.TrimSpace(tc.body)
				}
				require.Equal(t, orig, string(e.Original))
				_, err = json.Marshal(&e)
				require.NoError(t, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	good := ev("r1")
	tsOK := `"timestamp":"2025-01-02T03:04:05Z"`
	for _, tc := range []struct {
		name, body string
		status     int
		reason     string
		msg        string // the exact message, or a prefix ending in "…"
	}{
		{"empty", "", 400, reasonJSON, "empty body: " + shapeHint},
		{"whitespace", " \r\n ", 400, reasonJSON, "empty body: " + shapeHint},
		{"null", "null", 400, reasonJSON, "body is null: " + shapeHint},
		{"number", "42", 400, reasonJSON, "body is a number: " + shapeHint},
		{"string", `"hello"`, 400, reasonJSON, "body is a string: " + shapeHint},
		{"boolean", "true", 400, reasonJSON, "body is a boolean: " + shapeHint},
		{"not json", "hostname=x", 400, reasonJSON, "body is not JSON: " + shapeHint},
		{"nonsense starting like null", "nope", 400, reasonJSON, "body is not JSON: " + shapeHint},
		{"empty array", " [ ] ", 400, reasonJSON, "empty batch: the array holds no events; " + shapeHint},
		{"array of numbers", "[1,2]", 400, reasonJSON, "event 0: must be a JSON object, got a number"},
		{"array with a string", "[" + good + `,"x"]`, 400, reasonJSON, "event 1: must be a JSON object, got a string"},
		{"array of arrays", "[[]]", 400, reasonJSON, "event 0: must be a JSON object, got an array"},
		{"array with null", "[" + good + ",null]", 400, reasonJSON, "event 1: must be a JSON object, got null"},
		{"truncated object", `{"hostname":`, 400, reasonJSON, "event 0: invalid JSON: unexpected end of JSON input…"},
		{"bad syntax", `{"hostname" "x"}`, 400, reasonJSON, "event 0: invalid JSON: invalid character '\"' after object key…"},
		{"bad literal", `{"hostname":"h","message":"m",` + tsOK + `,"x":tru}`, 400, reasonJSON, "event 0: invalid JSON: invalid character '}' in literal true…"},
		{"control character in string", "{\"hostname\":\"a\tb\",\"message\":\"m\"," + tsOK + "}", 400, reasonJSON, "event 0: invalid JSON: invalid character '\\t' in string…"},
		{"array not closed", "[" + good + "," + good, 400, reasonJSON, "invalid JSON: unexpected end of body after event 1 (the array is not closed)"},
		{"array trailing comma", "[" + good + ",]", 400, reasonJSON, "event 1: invalid JSON: unexpected ']' where an event object should start"},
		{"data after array", "[" + good + "] {}", 400, reasonJSON, "invalid JSON: unexpected data after the array at byte…"},
		{"missing comma in array", "[" + good + " " + good + "]", 400, reasonJSON, "invalid JSON after event 0: expected ',' or ']' at byte…"},
		{"ndjson with an array line", good + "\n[1]", 400, reasonJSON, "event 1: must be a JSON object, got an array"},
		{"ndjson with a bad line", good + "\n" + good + "\n{\"hostname\":\n", 400, reasonJSON, "event 2: invalid JSON: unexpected end of JSON input…"},
		{"objects separated by commas", good + "," + good, 400, reasonJSON, "event 1: invalid JSON: unexpected ',' where an event object should start"},
		{"invalid utf-8", "{\"hostname\":\"h\xff\",\"message\":\"m\"," + tsOK + "}", 400, reasonValidation, "event 0: not valid UTF-8"},

		{"missing hostname at index 3", "[" + good + "," + good + "," + good + `,{"message":"m",` + tsOK + "}]", 400, reasonValidation, `event 3: missing required field "hostname"`},
		{"missing message", `{"hostname":"h",` + tsOK + "}", 400, reasonValidation, `event 0: missing required field "message"`},
		{"missing timestamp", `{"hostname":"h","message":"m"}`, 400, reasonValidation, `event 0: missing required field "timestamp"`},
		{"empty hostname", `{"hostname":"","message":"m",` + tsOK + "}", 400, reasonValidation, `event 0: field "hostname": must not be empty`},
		{"blank message", `{"hostname":"h","message":"  ",` + tsOK + "}", 400, reasonValidation, `event 0: field "message": must not be empty`},
		{"numeric hostname", `{"hostname":5,"message":"m",` + tsOK + "}", 400, reasonValidation, `event 0: field "hostname": must be a non-empty string, got a number`},
		{"null hostname", `{"hostname":null,"message":"m",` + tsOK + "}", 400, reasonValidation, `event 0: field "hostname": must be a non-empty string, got null`},
		{"object message", `{"hostname":"h","message":{},` + tsOK + "}", 400, reasonValidation, `event 0: field "message": must be a non-empty string, got an object`},
		{"numeric timestamp", `{"hostname":"h","message":"m","timestamp":1700000000}`, 400, reasonValidation, `event 0: field "timestamp": must be a non-empty string, got a number`},
		{"bad timestamp at index 3", "[" + good + "," + good + "," + good + `,{"hostname":"h","message":"m","timestamp":"yesterday"}]`, 400, reasonValidation,
			`event 3: field "timestamp": must be an RFC 3339 time such as 2025-01-31T12:00:00.1234567Z`},
		{"timestamp without zone", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05"}`, 400, reasonValidation, `event 0: field "timestamp": must be an RFC 3339 time…`},
		{"timestamp before year 0 in UTC", `{"hostname":"h","message":"m","timestamp":"0000-01-01T00:00:00+01:00"}`, 400, reasonValidation, `event 0: field "timestamp": must be an RFC 3339 time…`},
		{"timestamp after year 9999 in UTC", `{"hostname":"h","message":"m","timestamp":"9999-12-31T23:30:00-01:00"}`, 400, reasonValidation, `event 0: field "timestamp": must be an RFC 3339 time…`},
		{"timestamp offset out of range", `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05+24:00"}`, 400, reasonValidation, `event 0: field "timestamp": must be an RFC 3339 time…`},
		{"message too long", `{"hostname":"h","message":"` + strings.Repeat("m", 129) + `",` + tsOK + "}", 400, reasonValidation,
			`event 0: field "message": string longer than 128 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`},
		{"nested string too long", `{"hostname":"h","message":"m",` + tsOK + `,"details":{"a":["` + strings.Repeat("\\u00e9", 65) + `"]}}`, 400, reasonValidation,
			`event 0: field "details": string longer than 128 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`},
		{"field name too long", `{"` + strings.Repeat("k", 129) + `":1,"hostname":"h","message":"m",` + tsOK + "}", 400, reasonValidation,
			`event 0: a field name is longer than 128 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`},
		{"too deep", `{"hostname":"h","message":"m",` + tsOK + `,"a":{"b":[{"c":[1]}]}}`, 400, reasonValidation,
			`event 0: field "a": nested deeper than 4 levels (limit MUTT_INGEST_MAX_DEPTH)`},
		{"array batch too long", "[" + strings.Repeat(good+",", 5) + good + "]", 400, reasonValidation,
			"batch has more than 5 events (limit MUTT_INGEST_MAX_BATCH); send smaller batches"},
		{"ndjson batch too long", strings.Repeat(good+"\n", 6), 400, reasonValidation,
			"batch has more than 5 events (limit MUTT_INGEST_MAX_BATCH); send smaller batches"},

		{"bad trap_oid", `{"hostname":"h","message":"m",` + tsOK + `,"trap_oid":"1.3.six"}`, 400, reasonValidation,
			`event 0: field "trap_oid": must be a dotted numeric OID such as 1.3.6.1.6.3.1.1.5.1`},
		{"trap_oid with empty arc", `{"hostname":"h","message":"m",` + tsOK + `,"trap_oid":"1..3"}`, 400, reasonValidation, `event 0: field "trap_oid": must be a dotted numeric OID…`},
		{"trap_oid trailing dot", `{"hostname":"h","message":"m",` + tsOK + `,"trap_oid":"1.3."}`, 400, reasonValidation, `event 0: field "trap_oid": must be a dotted numeric OID…`},
		{"trap_oid just a dot", `{"hostname":"h","message":"m",` + tsOK + `,"trap_oid":"."}`, 400, reasonValidation, `event 0: field "trap_oid": must be a dotted numeric OID…`},
		{"trap_oid number", `{"hostname":"h","message":"m",` + tsOK + `,"trap_oid":1.3}`, 400, reasonValidation, `event 0: field "trap_oid": must be a dotted numeric OID…`},
		{"trap without host", `{"trap_oid":"1.3.6","variables":[],` + tsOK + "}", 400, reasonValidation,
			`event 0: missing required field "hostname" (or "source_ip" for an SNMP trap)`},
		{"trap without message", `{"trap_oid":"1.3.6","source_ip":"10.0.0.1",` + tsOK + "}", 400, reasonValidation,
			`event 0: missing required field "message" (or "variables" for an SNMP trap)`},
		{"source_ip without a trap", `{"source_ip":"10.0.0.1","message":"m",` + tsOK + "}", 400, reasonValidation, `event 0: missing required field "hostname"`},
		{"trap source_ip not a string", `{"trap_oid":"1.3.6","source_ip":10,"variables":[],` + tsOK + "}", 400, reasonValidation,
			`event 0: field "source_ip": must be a non-empty string, got a number`},
		{"trap variables too long", `{"trap_oid":"1.3.6","source_ip":"10.0.0.1",` + tsOK + `,"variables":["` + strings.Repeat("v", 120) + `"]}`, 400, reasonValidation,
			`event 0: field "variables": the message rendered from it is longer than 128 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`},

		{"bad syslog_severity", `{"hostname":"h","message":"m",` + tsOK + `,"syslog_severity":9}`, 400, reasonValidation,
			`event 0: field "syslog_severity": 9 is not a severity: use a number 0-7 or a name (emergency, alert, critical, error, warning, notice, info, debug)`},
		{"bad syslog_severity name", `{"hostname":"h","message":"m",` + tsOK + `,"syslog_severity":"loud"}`, 400, reasonValidation,
			`event 0: field "syslog_severity": "loud" is not a severity…`},
		{"boolean syslog_severity", `{"hostname":"h","message":"m",` + tsOK + `,"syslog_severity":true}`, 400, reasonValidation,
			`event 0: field "syslog_severity": a boolean is not a severity…`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envs, err := testDecoder().decode([]byte(tc.body), testStamp)
			require.Error(t, err)
			require.Nil(t, envs, "nothing of a bad request is returned")
			var re *requestError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.status)
			require.Equal(t, tc.reason, re.reason)
			if prefix, ok := strings.CutSuffix(tc.msg, "…"); ok {
				require.True(t, strings.HasPrefix(re.msg, prefix), "message %q does not start with %q", re.msg, prefix)
			} else {
				require.Equal(t, tc.msg, re.msg)
			}
		})
	}
}

func TestDecodeLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	d := &decoder{maxBatch: 1, maxField: 300, maxDepth: 4, newID: uuid.NewV7}
	// Hostname and message at their limits; a nested string whose escaped
	// form is far longer than the limit but whose value is exactly at it;
	// nesting exactly 4 deep (event, "d", "a", inner array).
	body := `{"hostname":"` + strings.Repeat("h", 255) + `","message":"` + strings.Repeat("m", 300) +
		`","timestamp":"2025-01-02T03:04:05Z","d":{"a":[["` + strings.Repeat("\\u0041", 300) + `"]]}}`
	envs, err := d.decode([]byte(body), testStamp)
	require.NoError(t, err)
	require.Len(t, envs, 1)
	require.Len(t, envs[0].Hostname, 255)
	require.Len(t, envs[0].Message, 300)

	// One more of each is refused.
	longerHost := strings.Replace(body, `"hostname":"`, `"hostname":"h`, 1)
	_, err = d.decode([]byte(longerHost), testStamp)
	require.EqualError(t, err, `event 0: field "hostname": longer than 255 bytes`)
	longerMsg := strings.Replace(body, `"message":"`, `"message":"m`, 1)
	_, err = d.decode([]byte(longerMsg), testStamp)
	require.EqualError(t, err, `event 0: field "message": string longer than 300 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`)
	longerNested := strings.Replace(body, `[["`, `[["B`, 1)
	_, err = d.decode([]byte(longerNested), testStamp)
	require.EqualError(t, err, `event 0: field "d": string longer than 300 bytes (limit MUTT_INGEST_MAX_FIELD_BYTES)`)
	deeper := strings.Replace(strings.Replace(body, `[["`, `[[["`, 1), `"]]}`, `"]]]}`, 1)
	_, err = d.decode([]byte(deeper), testStamp)
	require.EqualError(t, err, `event 0: field "d": nested deeper than 4 levels (limit MUTT_INGEST_MAX_DEPTH)`)
	_, err = d.decode([]byte(body+"\n"+body), testStamp)
	require.EqualError(t, err, "batch has more than 1 events (limit MUTT_INGEST_MAX_BATCH); send smaller batches")
}

func TestShardOf(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0, shardOf("anything", 1))
	seen := map[int]bool{}
	for i := range 200 {
		h := fmt.Sprintf("host-%d", i)
		s := shardOf(h, 8)
		require.True(t, s >= 0 && s < 8)
		require.Equal(t, s, shardOf(strings.ToUpper(h), 8), "case does not change the shard")
		seen[s] = true
	}
	require.Len(t, seen, 8, "hosts spread over every shard")
}

func TestDecodeQueuedKeepsPythonCorrelationAndStripsReserved(t *testing.T) {
	raw := []byte(`{"hostname": "r1", "message": "LINK-DOWN", "timestamp": "2025-11-10T08:00:00Z", "syslog_severity": 2, "_correlation_id": "5f0c7c3e-1d2b-4c39-9b1a-0d6f1e2a3b4c", "_retry_count": 2}`)
	env, payload, shard, err := DecodeQueued(raw, time.Unix(0, 0), 4)
	require.NoError(t, err)
	require.Equal(t, "5f0c7c3e-1d2b-4c39-9b1a-0d6f1e2a3b4c", env.CorrelationID)
	require.Equal(t, 2, *env.Severity)
	require.NotContains(t, string(env.Original), "_retry_count")
	require.Equal(t, shardOf("r1", 4), shard)
	var back event.Envelope
	require.NoError(t, json.Unmarshal(payload, &back))
	require.Equal(t, env.EventID, back.EventID)

	_, _, _, err = DecodeQueued([]byte(`{"hostname": "r1", "message": "x", "_correlation_id": "c"}`), time.Unix(0, 0), 1)
	require.ErrorContains(t, err, `missing required field "timestamp"`)
}

// An event object with a million tiny members (an 8 MiB body, under the
// body limit) is refused at MaxEventFields, naming the limit, without the
// decoder allocating many times the body: before the bound it allocated
// about 630 MiB for it (found by test/hostile). Not parallel: it measures
// the process's allocations.
func TestDecodeBoundsTopLevelFields(t *testing.T) {
	d := &decoder{maxBatch: DefaultMaxBatch, maxField: DefaultMaxFieldBytes, maxDepth: DefaultMaxDepth, newID: uuid.NewV7}
	fields := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"`)
		for i := range n - 3 {
			fmt.Fprintf(&b, `,"f%d":1`, i)
		}
		return b.String() + "}"
	}
	envs, err := d.decode([]byte(fields(MaxEventFields)), testStamp)
	require.NoError(t, err, "MaxEventFields fields are accepted")
	require.Len(t, envs, 1)
	_, err = d.decode([]byte(fields(MaxEventFields+1)), testStamp)
	require.ErrorContains(t, err, "event 0: more than 1000 top-level fields")

	body := []byte("{" + strings.Repeat(`"k":1,`, (8<<20)/6) + `"k":1}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = d.decode(body, testStamp)
	runtime.ReadMemStats(&after)
	var re *requestError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 400, re.status)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(len(body)), "bytes allocated to refuse an %d-byte body", len(body))
}
