package hostile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
)

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "X-HOSTILE"}

var contentTypes = []string{"application/json", "application/x-ndjson", "text/plain", "application/json; charset=latin1",
	"multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "", "garbage/;;;", "application/json; charset=utf-16"}

// junk strings: path segments, query values, JSON strings and header values.
var junk = []string{"", "0", "-1", "99999999999999999999999", "1e309", "NaN", "null", "true", "../../etc/passwd",
	"%00", "%ff%fe", "\u202e", "😀", "a\x00b", "\xff\xfe\xfd", "<script>alert(1)</script>", "' OR 1=1 --",
	"${jndi:ldap://x}", "{{.}}", "%s%s%s%n", strings.Repeat("A", 5000), "page_and_ticket", "Ignore", "mutt:config:",
	"0193a0b0-0000-7000-8000-000000000000", "2026-11-26T10:00:00Z", "9999-99-99T99:99:99Z", " ", "\t\r\n"}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// randString is a junk value or random bytes (often invalid UTF-8).
func randString(r *rand.Rand) string {
	if r.IntN(3) > 0 {
		return pick(r, junk)
	}
	b := make([]byte, r.IntN(64))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return string(b)
}

// randJSON writes a random JSON value (valid syntax, any content) of at
// most depth levels; strings may hold invalid UTF-8, which encoding/json
// would refuse to write, so the writer is our own.
func randJSON(r *rand.Rand, w *bytes.Buffer, depth int) {
	switch k := r.IntN(8); {
	case depth <= 0 || k == 0:
		w.WriteString(pick(r, []string{"null", "true", "false", "0", "-1", "1.5e308", "123456789012345678901234567890", "-0"}))
	case k <= 3:
		fmt.Fprintf(w, "%q", randString(r))
	case k <= 5:
		w.WriteByte('{')
		for i := range r.IntN(6) {
			if i > 0 {
				w.WriteByte(',')
			}
			key := randString(r)
			if r.IntN(2) == 0 {
				key = pick(r, eventFields)
			}
			fmt.Fprintf(w, "%q:", key)
			randJSON(r, w, depth-1)
		}
		w.WriteByte('}')
	default:
		w.WriteByte('[')
		for i := range r.IntN(6) {
			if i > 0 {
				w.WriteByte(',')
			}
			randJSON(r, w, depth-1)
		}
		w.WriteByte(']')
	}
}

// The fields of the ingest contract and of the API's bodies, so random
// objects often get past the first checks.
var eventFields = []string{"hostname", "timestamp", "message", "syslog_severity", "source_ip", "facility", "tags",
	"reason", "value", "match_string", "match_type", "priority", "handling", "team_assignment", "prod_handling",
	"dev_handling", "is_active", "hostname_pattern", "team", "name", "description", "rule_id", "events"}

// randBody is a body of one of several shapes: valid and mutated events,
// random JSON, NDJSON, random bytes.
func randBody(r *rand.Rand) []byte {
	var w bytes.Buffer
	switch r.IntN(7) {
	case 0: // nothing
	case 1: // a valid event, a field replaced by junk
		ev := map[string]string{"hostname": "router1.example.com", "timestamp": time.Now().UTC().Format(time.RFC3339),
			"message": "LINK-DOWN hostile", "syslog_severity": "critical"}
		ev[pick(r, eventFields)] = randString(r)
		w.WriteByte('{')
		i := 0
		for k, v := range ev {
			if i > 0 {
				w.WriteByte(',')
			}
			i++
			fmt.Fprintf(&w, "%q:%q", k, v)
		}
		w.WriteByte('}')
	case 2, 3:
		randJSON(r, &w, 6)
	case 4: // NDJSON
		for range r.IntN(20) {
			randJSON(r, &w, 3)
			w.WriteByte('\n')
		}
	case 5: // random bytes
		b := make([]byte, r.IntN(4096))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		w.Write(b)
	case 6: // truncated JSON
		randJSON(r, &w, 5)
		w.Truncate(r.IntN(w.Len() + 1))
	}
	return w.Bytes()
}

// randomRequests sends HOSTILE_REQUESTS (default 2000) random requests to
// the ingestor and the admin API, 8 at a time: random methods, paths from
// both route tables with junk parameters and queries, random headers and
// keys, random bodies.
func randomRequests(t *testing.T, in *instance, tl *tally, r *rand.Rand) {
	n := envInt(t, "HOSTILE_REQUESTS", 2000)
	var paths []string
	for _, rt := range apiRoutes(t) {
		paths = append(paths, "api "+rt.path)
	}
	for p := range ingest.Routes() {
		paths = append(paths, "ingest "+p)
	}
	paths = append(paths, "api /ui/", "api /ui/static/app.js", "api /ui/events", "api /nope", "ingest /nope", "api //api/v2//rules/")
	type job struct {
		listener, method, url string
		header                http.Header
		body                  []byte
	}
	jobs := make([]job, n)
	for i := range jobs {
		target, tmpl, _ := strings.Cut(pick(r, paths), " ")
		addr := map[string]string{"api": in.api, "ingest": in.ingest}[target]
		path := pathParam.ReplaceAllStringFunc(tmpl, func(string) string { return escapeJunk(randString(r)) })
		if r.IntN(3) == 0 {
			path += "?" + pick(r, []string{"page_size", "limit", "after", "rule_id", "hostname", "handling", "since", "q", "sort"}) +
				"=" + escapeJunk(randString(r))
		}
		h := http.Header{}
		if ct := pick(r, contentTypes); ct != "" {
			h.Set("Content-Type", ct)
		}
		if key := pick(r, []string{"", "wrong", in.readKey, in.adminKey, in.ingestKey, in.ingestKey}); key != "" {
			h.Set("X-API-KEY", key)
		}
		for range r.IntN(4) {
			h.Set(pick(r, []string{"X-Correlation-ID", "Accept", "Content-Encoding", "X-Forwarded-For", "Authorization",
				"If-None-Match", "Range", "Accept-Encoding", "Origin", "X-Hostile"}), headerSafe(randString(r)))
		}
		if r.IntN(50) == 0 {
			h.Set("X-Big", strings.Repeat("b", 60<<10))
		}
		jobs[i] = job{target, pick(r, methods), "http://" + addr + path, h, randBody(r)}
	}

	var wg sync.WaitGroup
	ch := make(chan job)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				req, err := http.NewRequestWithContext(t.Context(), j.method, j.url, bytes.NewReader(j.body))
				if err != nil { // a URL net/http itself refuses: nothing reaches the server
					continue
				}
				req.Header = j.header
				resp, err := nextClient().Do(req)
				what := fmt.Sprintf("%s %s", j.method, j.url)
				if err != nil {
					tl.add(j.listener, 0)
					tl.fail(fmt.Sprintf("%s: no answer: %v", what, err))
					continue
				}
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				answer(tl, j.listener, what, resp, string(b))
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	t.Logf("random requests: %d sent", n)
}

// escapeJunk keeps a junk value inside one path segment or query value
// while leaving its bytes hostile.
func escapeJunk(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("/?#%&=+\"<>\\^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerSafe drops the bytes net/http refuses to send in a header value
// (control characters), keeping invalid UTF-8.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// repeatReader yields head, then body repeated until n bytes in all, then tail.
func repeatReader(head, body, tail string, n int64) io.Reader {
	reps := (n - int64(len(head)+len(tail))) / int64(len(body))
	return io.MultiReader(strings.NewReader(head), io.LimitReader(&repeater{s: body}, reps*int64(len(body))), strings.NewReader(tail))
}

type repeater struct {
	s   string
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

// hugeBodies: bodies far over the limits (streamed, never held by the
// test), deeply nested JSON, giant strings and invalid UTF-8, to the
// ingestor and to the API's writes with the admin key.
func hugeBodies(t *testing.T, in *instance, tl *tally, _ *rand.Rand) {
	ev := `{"hostname":"h.example.com","timestamp":"2026-11-26T10:00:00Z","message":"` + strings.Repeat("x", 200) + `"},`
	cases := []struct {
		name   string
		body   func() io.Reader
		length int64 // -1: chunked, no Content-Length
	}{
		{"256 MiB event array", func() io.Reader { return repeatReader("[", ev, `{}]`, 256<<20) }, -1},
		{"256 MiB declared", func() io.Reader { return repeatReader("[", ev, `{}]`, 256<<20) }, 256 << 20},
		{"nested arrays 1M deep", func() io.Reader { return repeatReader("", "[", "", 1<<20) }, -1},
		{"nested objects 300k deep", func() io.Reader { return repeatReader("", `{"a":`, "", 1500000) }, -1},
		{"a field nested 5000 deep", func() io.Reader {
			return strings.NewReader(`{"hostname":"h","message":"m","tags":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}")
		}, 0},
		{"9 MiB message", func() io.Reader {
			return strings.NewReader(`{"hostname":"h","timestamp":"2026-11-26T10:00:00Z","message":"` + strings.Repeat("m", 9<<20) + `"}`)
		}, 0},
		{"100k tiny events", func() io.Reader {
			return repeatReader("[", `{"hostname":"h","timestamp":"2026-11-26T10:00:00Z","message":"m"},`, `{}]`, 6<<20)
		}, 0},
		{"invalid UTF-8 everywhere", func() io.Reader {
			return strings.NewReader("{\"hostname\":\"\xff\xfe\",\"timestamp\":\"\xc3\x28\",\"message\":\"\xed\xa0\x80 surrogate \xf8\x88\x80\x80\x80\",\"\xff\":\"\xff\"}")
		}, 0},
		{"a million keys", func() io.Reader { return repeatReader("{", `"k":1,`, `"k":1}`, 8<<20) }, 0},
		{"long number", func() io.Reader { return repeatReader(`{"hostname":"h","message":"m","n":`, "9", "}", 5<<20) }, 0},
	}
	targets := []struct{ listener, method, url, key string }{
		{"ingest", "POST", "http://" + in.ingest + "/ingest", in.ingestKey},
		{"ingest", "POST", "http://" + in.ingest + "/api/v2/ingest", in.ingestKey},
		{"api", "POST", "http://" + in.api + "/api/v2/rules", in.adminKey},
		{"api", "PUT", "http://" + in.api + "/api/v2/config/moog_rate_limit", in.adminKey},
		{"api", "POST", "http://" + in.api + "/api/v2/rules/test", in.readKey},
	}
	for _, tg := range targets {
		for _, c := range cases {
			what := fmt.Sprintf("%s %s (%s)", tg.method, tg.url, c.name)
			req, err := http.NewRequestWithContext(t.Context(), tg.method, tg.url, c.body())
			require.NoError(t, err)
			switch c.length {
			case -1:
				req.ContentLength = -1
			case 0: // net/http sets it for a strings.Reader
			default:
				req.ContentLength = c.length
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-KEY", tg.key)
			resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
			if err != nil {
				// The server may answer 413 and close before the client has
				// written the rest: net/http then reports the write error.
				require.False(t, errors.Is(err, io.ErrUnexpectedEOF) && c.length == 0, "%s: %v", what, err)
				tl.add(tg.listener, 0)
				t.Logf("%s: connection closed while sending: %v", what, err)
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			answer(tl, tg.listener, what, resp, string(b))
			t.Logf("%s → %d %.120s", what, resp.StatusCode, b)
		}
	}
}
