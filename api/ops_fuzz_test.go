package api

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzDLQActionBody: any body of a replay or discard is a 400 naming the
// field (or the body), a 413, or — valid, without Temporal — a 503; never a 500.
func FuzzDLQActionBody(f *testing.F) {
	for _, s := range []string{
		`{"ids":["1-0"],"reason":"r"}`, `{"all":true,"reasons":["shed"],"reason":"r"}`, `{"ids":[],"reason":"r"}`,
		`{"ids":["1-0","+"],"reason":"r"}`, `{"ids":"1-0"}`, `{"all":true,"ids":["1-0"],"reason":" "}`,
		`{"reasons":[""],"all":true,"reason":"x"}`, `[]`, `null`, `{"dry_run":"yes"}`, `{"ids":[1]}`, `{} {}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, discard bool) {
		path := "/api/v2/dlq/alerter/replay"
		if discard {
			path = "/api/v2/dlq/alerter/discard"
		}
		r := e.send("POST", path, "", body, map[string]string{"X-Change-Reason": ""})
		requireAnswer(t, r, path, string(body), []string{"ids", "all", "reasons", "reason", "dry_run", "request body", "malformed JSON body"},
			http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable)
	})
}

// FuzzDLQEntriesQuery: any query of an entries page is a 200 or a 400
// naming the parameter; never a 500.
func FuzzDLQEntriesQuery(f *testing.F) {
	for _, q := range []string{"", "count=5", "count=0", "count=501", "after=1-0", "after=%2B", "reason=shed&reason=x",
		"reason=%00", "reason=%ff", "count=-1&after=1"} {
		f.Add(q)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, q string) {
		r := e.send("GET", "/api/v2/dlq/moog", q, nil, nil)
		requireAnswer(t, r, "GET /dlq/moog?"+q, q, []string{"count", "after", "reason"}, http.StatusOK, http.StatusBadRequest)
	})
}

// FuzzJobTriggerBody: any body of a "Run now" is a 400 naming the field (or
// the body), a 413, or — valid, without Temporal — a 503; never a 500.
func FuzzJobTriggerBody(f *testing.F) {
	for _, s := range []string{`{"reason":"r"}`, `{"reason":"  "}`, `{}`, `{"reason":1}`, `{"why":"r"}`, `[]`, `null`,
		`{"reason":"r"} {}`, `{"reason":"\u0000"}`} {
		f.Add([]byte(s), "mutt-retention")
		f.Add([]byte(s), "%2e%2e")
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, schedule string) {
		path := "/api/v2/jobs/" + url.PathEscape(schedule) + "/trigger"
		r := e.send("POST", path, "", body, map[string]string{"X-Change-Reason": ""})
		requireAnswer(t, r, path, string(body), []string{"reason", "request body", "malformed JSON body"},
			http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable)
	})
}
