package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// temporalNamespace is the namespace of the hostile set's worker and API on
// the test Temporal server: its mutt-ops task queue and its schedules are
// then this test's alone.
const temporalNamespace = "mutt-hostile"

// registerNamespace makes sure temporalNamespace exists on the test server.
func registerNamespace(t *testing.T) {
	t.Helper()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: testenv.TemporalAddress()})
	require.NoError(t, err, "the Temporal test server must run (scripts/ensure-temporal.sh --test-server)")
	defer nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: temporalNamespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	if _, exists := err.(*serviceerror.NamespaceAlreadyExists); exists {
		err = nil
	}
	require.NoError(t, err)
}

// opsRequest sends one request to the API and classifies its answer; it
// returns the status (0: no answer) and the body (its first MiB).
func opsRequest(ctx context.Context, in *instance, tl *tally, method, path, key string, body io.Reader, length int64) (int, string) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+in.api+path, body)
	if err != nil { // a URL net/http itself refuses: nothing reaches the server
		return -1, err.Error()
	}
	if length != 0 {
		req.ContentLength = length
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	what := method + " " + path
	resp, err := nextClient().Do(req)
	if err != nil {
		tl.add("api ops", 0)
		// A body over the limit is answered 413 and the connection closed
		// while the client still writes: net/http reports the write error.
		if !strings.Contains(err.Error(), "write tcp") {
			tl.fail(fmt.Sprintf("%.300s: no answer: %v", what, err))
		}
		return 0, err.Error()
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the jobs page with its recent runs is tens of kB
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	answer(tl, "api ops", fmt.Sprintf("%.300s", what), resp, string(b))
	return resp.StatusCode, string(b)
}

// temporalActions attacks the console actions backed by Temporal, with the
// worker running: the jobs page, schedule triggers, workflow runs and the
// dead-letter actions get bad names, random, huge and nested bodies, and
// floods. Every answer must be below 500, and the API must still list the
// schedules and start a dead-letter run afterwards.
func temporalActions(t *testing.T, in *instance, tl *tally, r *rand.Rand) {
	// The jobs page shows Temporal configured and the worker's schedules.
	var schedules []string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body := opsRequest(t.Context(), in, tl, "GET", "/api/v2/jobs", in.readKey, nil, 0)
		var page struct {
			Temporal struct {
				Configured bool `json:"configured"`
			} `json:"temporal"`
			Schedules []struct {
				ID     string `json:"id"`
				Exists bool   `json:"exists"`
			} `json:"schedules"`
		}
		if !assert.Equal(c, http.StatusOK, code, body) || !assert.NoError(c, json.Unmarshal([]byte(body), &page)) {
			return
		}
		assert.True(c, page.Temporal.Configured, "the API has Temporal: %s", body)
		schedules = schedules[:0]
		for _, s := range page.Schedules {
			assert.True(c, s.Exists, "schedule %s applied by the worker", s.ID)
			schedules = append(schedules, s.ID)
		}
		assert.NotEmpty(c, schedules)
	}, 2*time.Minute, 500*time.Millisecond, "the worker applied the schedules")
	t.Logf("schedules: %v", schedules)

	reason := `{"reason":"hostile-client test"}`
	// Bad schedule names: junk, huge, traversal, IDs of other things.
	var names []string
	for _, j := range junk {
		names = append(names, escapeJunk(j))
	}
	names = append(names, strings.Repeat("s", 8000), "..%2F..%2Fhealth", escapeJunk(schedules[0]+"\x00"),
		strings.ToUpper(schedules[0]), schedules[0]+"%20", "mutt-dlq-replay-alerter", "%2e%2e")
	for _, name := range names {
		code, body := opsRequest(t.Context(), in, tl, "POST", "/api/v2/jobs/"+name+"/trigger", in.adminKey, strings.NewReader(reason), 0)
		assert.True(t, code == http.StatusNotFound || code == http.StatusBadRequest || code == http.StatusMovedPermanently ||
			code == http.StatusTemporaryRedirect || code == -1, "trigger %.80q: %d %s", name, code, body)
		opsRequest(t.Context(), in, tl, "GET", "/api/v2/jobs/runs/"+name+"?run_id="+escapeJunk(randString(r)), in.readKey, nil, 0)
	}

	// Random, huge and nested bodies to a real trigger and to the DLQ actions.
	targets := []string{"/api/v2/jobs/" + schedules[0] + "/trigger", "/api/v1/jobs/" + schedules[0] + "/trigger",
		"/api/v2/dlq/alerter/replay", "/api/v2/dlq/moog/replay", "/api/v2/dlq/alerter/discard", "/api/v2/dlq/moog/discard",
		"/api/v2/dlq/snmp/replay", "/api/v2/dlq/" + escapeJunk(randString(r)) + "/discard"}
	bodies := []func() (io.Reader, int64){
		func() (io.Reader, int64) {
			return strings.NewReader(strings.Repeat("[", 5000) + strings.Repeat("]", 5000)), 0
		},
		func() (io.Reader, int64) { return repeatReader(`{"reason":"x","ids":[`, `"0-1",`, `"0-1"]}`, 4<<20), 0 },
		func() (io.Reader, int64) { return repeatReader("", `{"a":`, "", 1<<20), -1 },
		func() (io.Reader, int64) { return repeatReader(`{"reason":"`, "r", `","all":true}`, 2<<20), 0 },
		func() (io.Reader, int64) {
			return strings.NewReader(`{"reason":"\xff\xfe","ids":["\xff"],"reasons":["\xc3\x28"]}`), 0
		},
		func() (io.Reader, int64) { return strings.NewReader(`{"reason":"   ","all":true}`), 0 },
		func() (io.Reader, int64) { return strings.NewReader(`{"all":true}`), 0 },
		func() (io.Reader, int64) {
			return strings.NewReader(`{"reason":"x","ids":["` + strings.Repeat(`1-1","`, 20000) + `1-1"]}`), 0
		},
		func() (io.Reader, int64) {
			return strings.NewReader(`{"reason":"x","reasons":[` + strings.Repeat(`"shed",`, 9999) + `"shed"]}`), 0
		},
	}
	for range 60 {
		bodies = append(bodies, func() (io.Reader, int64) {
			var w bytes.Buffer
			randJSON(r, &w, 6)
			return &w, 0
		})
	}
	for _, path := range targets {
		for _, b := range bodies {
			body, length := b()
			key := in.adminKey
			if r.IntN(10) == 0 {
				key = pick(r, []string{"", in.readKey, in.ingestKey})
			}
			opsRequest(t.Context(), in, tl, "POST", path, key, body, length)
		}
	}

	// Floods: 200 triggers spread over the schedules and 200 dead-letter
	// runs, 32 at a time. Overlapping triggers are refused (409), never a
	// 5xx. The secret rotations are left out: a run would replace the keys
	// and passwords this test holds (and scans the logs for).
	var flood []string
	for _, s := range schedules {
		if !strings.Contains(s, "secret-rotation") {
			flood = append(flood, s)
		}
	}
	type job struct{ path, body string }
	var jobs []job
	for i := range 200 {
		jobs = append(jobs, job{"/api/v2/jobs/" + flood[i%len(flood)] + "/trigger", fmt.Sprintf(`{"reason":"flood %d"}`, i)})
		jobs = append(jobs, job{"/api/v2/dlq/" + pick(r, []string{"alerter", "moog"}) + "/" + pick(r, []string{"replay", "discard"}),
			fmt.Sprintf(`{"reason":"flood %d","all":true,"dry_run":%t}`, i, r.IntN(2) == 0)})
	}
	r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan job)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				code, _ := opsRequest(t.Context(), in, tl, "POST", j.path, in.adminKey, strings.NewReader(j.body), 0)
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	t.Logf("trigger and dead-letter flood: %d requests, answers %v", len(jobs), codes)
	require.Positive(t, codes[http.StatusAccepted], "some flood requests started runs")

	// Afterwards the ops plane still works: the jobs page lists, a
	// dead-letter run starts.
	for range 5 {
		opsRequest(t.Context(), in, tl, "GET", "/api/v2/jobs", in.readKey, nil, 0)
		opsRequest(t.Context(), in, tl, "GET", "/api/v2/dlq", in.readKey, nil, 0)
	}
	code, body := opsRequest(t.Context(), in, tl, "POST", "/api/v2/dlq/alerter/discard", in.adminKey,
		strings.NewReader(`{"reason":"after the flood","all":true,"dry_run":true}`), 0)
	require.Equal(t, http.StatusAccepted, code, body)
}
