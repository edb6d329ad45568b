package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// FuzzDecode checks the body decoder on arbitrary input: it never panics;
// a refusal is a *requestError with a 4xx status and a message; an
// acceptance yields complete envelopes whose stream payload is valid JSON.
func FuzzDecode(f *testing.F) {
	good := `{"hostname":"r1","message":"link down","timestamp":"2025-01-02T03:04:05.1234567Z","syslog_severity":"Warning"}`
	trap := `{"source_ip":"10.0.0.1","timestamp":"2025-01-02T03:04:05Z","trap_oid":".1.3.6.1.6.3.1.1.5.1","variables":["@{oid=1.3.6; value=1}"],"severity":"Major"}`
	for _, s := range []string{
		good, trap, "[" + good + "," + trap + "]", good + "\r\n\r\n" + trap + "\n",
		"\ufeff" + good, "", " ", "null", "[]", "[1]", "42", `"x"`, "{", "[{", `{"a":"\"}`,
		`{"_retry_count":9,"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"}`,
		`{"host\u006eame":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"}`,
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05+24:00"}`,
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","d":[[[[[[[[[[1]]]]]]]]]]}`,
		`{"hostname":"h","message":"` + strings.Repeat("\\u00e9", 100) + `","timestamp":"2025-01-02T03:04:05Z"}`,
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","trap_oid":"1..2"}`,
		"{\"hostname\":\"h\xff\",\"message\":\"m\",\"timestamp\":\"2025-01-02T03:04:05Z\"}",
		strings.Repeat(good+"\n", 60),
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","app_name":"sshd","facility":"local4"}`,
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","app_name":"s\u0073hd","facility":23}`,
		`{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z","facility":99999999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := &decoder{maxBatch: 50, maxField: 256, maxDepth: 8, newID: uuid.NewV7}
		envs, err := d.decode(body, testStamp)
		if err != nil {
			var re *requestError
			require.True(t, errors.As(err, &re), "refusal %v is not a requestError", err)
			require.NotEmpty(t, re.msg)
			require.True(t, re.status >= 400 && re.status < 500, "status %d", re.status)
			require.NotEmpty(t, re.reason)
			require.Nil(t, envs)
			// Whatever encoding/json accepts as a JSON text, we never call invalid JSON.
			if json.Valid(body) {
				require.NotContains(t, re.msg, "invalid JSON", "body %q", body)
			}
			return
		}
		require.NotEmpty(t, envs)
		require.LessOrEqual(t, len(envs), d.maxBatch)
		for _, e := range envs {
			require.NotEmpty(t, strings.TrimSpace(e.Hostname))
			require.LessOrEqual(t, len(e.Hostname), MaxHostnameBytes)
			require.NotEmpty(t, strings.TrimSpace(e.Message))
			id, err := uuid.Parse(e.EventID)
			require.NoError(t, err)
			require.EqualValues(t, 7, id.Version())
			require.False(t, e.Timestamp.IsZero())
			_, err = e.Timestamp.MarshalText()
			require.NoError(t, err, "timestamp %v", e.Timestamp)
			if e.Severity != nil {
				require.True(t, *e.Severity >= 0 && *e.Severity <= 7)
			}
			if e.Facility != nil {
				require.True(t, *e.Facility >= 0 && *e.Facility <= 23)
			}
			var orig map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(e.Original, &orig), "original %q", e.Original)
			for k := range orig {
				require.False(t, strings.HasPrefix(k, "_"), "reserved field %q kept", k)
			}
			// The payload queued is what json.Marshal would have made.
			want, err := json.Marshal(&e)
			require.NoError(t, err)
			got := appendEnvelope(nil, &e)
			var g, w map[string]any
			require.NoError(t, json.Unmarshal(got, &g), "payload %q", got)
			require.NoError(t, json.Unmarshal(want, &w))
			require.Equal(t, w, g)
			if e.TrapOID != "" {
				require.False(t, strings.HasPrefix(e.TrapOID, "."))
			}
		}
		// A body that is one valid JSON object is read as encoding/json reads it.
		if trimmed := bytes.TrimSpace(body); len(envs) == 1 && json.Valid(body) && len(trimmed) > 0 && trimmed[0] == '{' {
			var v struct {
				Hostname *string `json:"hostname"`
			}
			if json.Unmarshal(body, &v) == nil && v.Hostname != nil {
				require.Equal(t, *v.Hostname, envs[0].Hostname)
			}
		}
	})
}

// FuzzParseTime holds parseTime to what it replaced: time.Parse with
// RFC3339Nano of the upper-cased text, refused when MarshalText refuses the
// time or its UTC form.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.1234567Z", "2025-01-02t03:04:05.5z", "2025-01-02T03:04:05,5Z",
		"2025-01-02T03:04:05.1234567890123+01:00", "2025-01-02T03:04:05+24:00", "2025-01-02T03:04:05-23:59",
		"0000-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "2025-01-02T3:04:05Z", "2025-02-30T03:04:05Z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if werr == nil {
			if _, err := want.MarshalText(); err != nil {
				werr = err
			} else if _, err := want.UTC().MarshalText(); err != nil {
				werr = err
			}
		}
		got, err := parseTime([]byte(s))
		if werr != nil {
			require.Error(t, err, "%q: want %v", s, werr)
			return
		}
		require.NoError(t, err, "%q", s)
		require.True(t, want.Equal(got), "%q: %v, want %v", s, got, want)
		require.Equal(t, want.Location(), got.Location(), "%q", s)
		_, wo := want.Zone()
		_, go_ := got.Zone()
		require.Equal(t, wo, go_, "%q", s)
	})
}
