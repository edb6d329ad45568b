package moogsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

func post(t *testing.T, url, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { require.NoError(t, resp.Body.Close()) }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { require.NoError(t, resp.Body.Close()) }()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func TestAcceptsSingleAndBatchOnEveryPath(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{Keep: 3})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	code, _, body := post(t, srv.URL+"/", "", `{"external_id":"a","signature":"s"}`)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"success":true,"received":1}`, body)
	code, _, _ = post(t, srv.URL+"/events", "", `{"events":[{"external_id":"b"},{"external_id":"a"}]}`)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = post(t, srv.URL+"/api/v1/events", "", `{"events":[{"external_id":"c"},{"external_id":7},{"x":1}]}`)
	require.Equal(t, http.StatusOK, code)

	require.Equal(t, 6, sim.Count())
	require.Equal(t, 3, sim.Requests())
	require.Equal(t, 2, sim.Seen("a"))
	require.Equal(t, 1, sim.Seen("7"), "a numeric id is kept as its JSON text")
	require.Equal(t, 4, sim.Unique())
	last := sim.Events()
	require.Len(t, last, 3, "only Keep events are kept")
	require.Equal(t, "c", last[0]["external_id"])
	require.Equal(t, map[string]any{"x": float64(1)}, last[2])

	code, stats := get(t, srv.URL+"/stats")
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 6, stats["count"])
	require.EqualValues(t, 3, stats["requests"])
	require.EqualValues(t, 4, stats["unique"])
	require.Equal(t, false, stats["failing"])
	require.Len(t, stats["last"], 3)

	code, health := get(t, srv.URL+"/health")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"status": "healthy", "service": "moog-sim"}, health)
}

func TestRejectsBodiesThatAreNotEvents(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	for _, body := range []string{`not json`, `[{"external_id":"a"}]`, `"x"`, `{"events":[]}`, `{"events":[1]}`, ``} {
		code, _, _ := post(t, srv.URL+"/events", "", body)
		require.Equal(t, http.StatusBadRequest, code, body)
	}
	require.Zero(t, sim.Count())
	require.Equal(t, 6, sim.Requests())
}

func TestRequiresBearerKeyWhenConfigured(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{APIKey: "k3y"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	for _, auth := range []string{"", "Bearer nope", "k3y", "Basic k3y"} {
		code, _, _ := post(t, srv.URL+"/events", auth, `{"external_id":"a"}`)
		require.Equal(t, http.StatusUnauthorized, code, auth)
	}
	code, _, _ := post(t, srv.URL+"/events", "Bearer k3y", `{"external_id":"a"}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 1, sim.Count())
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	sim.Fail(http.StatusTooManyRequests, 2)
	for range 2 {
		code, h, _ := post(t, srv.URL+"/events", "", `{"external_id":"a"}`)
		require.Equal(t, http.StatusTooManyRequests, code)
		require.Equal(t, "1", h.Get("Retry-After"))
	}
	code, _, _ := post(t, srv.URL+"/events", "", `{"external_id":"a"}`)
	require.Equal(t, http.StatusOK, code, "after n failures it answers normally")
	require.Equal(t, 1, sim.Seen("a"))

	// Through the control endpoint: fail until healed.
	code, _, _ = post(t, srv.URL+"/control", "", `{"fail_status":503,"retry_after":7}`)
	require.Equal(t, http.StatusOK, code)
	for range 3 {
		code, h, _ := post(t, srv.URL+"/events", "", `{"external_id":"b"}`)
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, "7", h.Get("Retry-After"))
	}
	_, stats := get(t, srv.URL+"/stats")
	require.Equal(t, true, stats["failing"])
	code, _, _ = post(t, srv.URL+"/control", "", `{"heal":true}`)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = post(t, srv.URL+"/events", "", `{"external_id":"b"}`)
	require.Equal(t, http.StatusOK, code)

	code, _, _ = post(t, srv.URL+"/control", "", `{"fail_statuz":503}`)
	require.Equal(t, http.StatusBadRequest, code, "typos in control bodies are reported")
	code, _, _ = post(t, srv.URL+"/control", "", `{"fail_status":42}`)
	require.Equal(t, http.StatusBadRequest, code)

	code, _, _ = post(t, srv.URL+"/reset", "", ``)
	require.Equal(t, http.StatusOK, code)
	require.Zero(t, sim.Count())
	require.Zero(t, sim.Requests())
	require.Zero(t, sim.Unique())
	require.Empty(t, sim.Events())
}

func probe(t *testing.T, method, url, auth string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, resp.Header
}

// A fault takes the whole webhook down, as a real outage does: a health probe
// (HEAD or GET of an event path, DLQ remediation's) sees it too, so the probe
// cannot call a failing Moogsoft healthy. Probes use up no counted fault.
func TestProbesSeeTheFault(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{APIKey: "k3y"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	paths := []string{"/events", "/api/v1/events"}

	for _, p := range paths {
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			code, h := probe(t, m, srv.URL+p, "Bearer k3y")
			require.Equal(t, http.StatusMethodNotAllowed, code, "healthy: the webhook answers, and takes only POST (%s %s)", m, p)
			require.Equal(t, http.MethodPost, h.Get("Allow"))
			code, _ = probe(t, m, srv.URL+p, "Bearer nope")
			require.Equal(t, http.StatusUnauthorized, code, "%s %s with a wrong key", m, p)
		}
	}

	sim.Fail(http.StatusServiceUnavailable, 1)
	for _, p := range append(paths, "/") {
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			code, h := probe(t, m, srv.URL+p, "Bearer k3y")
			require.Equal(t, http.StatusServiceUnavailable, code, "%s %s while failing", m, p)
			require.Equal(t, "1", h.Get("Retry-After"))
		}
	}
	_, stats := get(t, srv.URL+"/stats")
	require.Equal(t, true, stats["failing"], "probes did not use up the counted fault")
	require.EqualValues(t, 14, stats["probes"])
	require.Equal(t, 14, sim.Probes())
	require.Zero(t, sim.Requests(), "a probe is not an event request")
	code, _, _ := post(t, srv.URL+"/events", "Bearer k3y", `{"external_id":"a"}`)
	require.Equal(t, http.StatusServiceUnavailable, code, "the one counted failure goes to an event request")
	code, _ = probe(t, http.MethodHead, srv.URL+"/events", "Bearer k3y")
	require.Equal(t, http.StatusMethodNotAllowed, code, "healed after the counted failure")

	sim.Fail(http.StatusInternalServerError, -1)
	code, _ = probe(t, http.MethodHead, srv.URL+"/api/v1/events", "")
	require.Equal(t, http.StatusInternalServerError, code, "an outage answers before any credential check")
	sim.Heal()
	code, _ = probe(t, http.MethodGet, srv.URL+"/", "")
	require.Equal(t, http.StatusOK, code, "GET / is the simulator's index when healthy")

	// A slow webhook is slow for probes too.
	sim.Delay(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, srv.URL+"/events", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	sim.Reset()
	require.Zero(t, sim.Probes())
}

func TestDelayProvokesClientTimeoutsAndRecordsNothing(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.Delay(time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/events", strings.NewReader(`{"external_id":"a"}`))
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return sim.Requests() == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, sim.Count())

	sim.Heal()
	code, _, _ := post(t, srv.URL+"/events", "", `{"external_id":"a"}`)
	require.Equal(t, http.StatusOK, code)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{Keep: 10})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				var b bytes.Buffer
				b.WriteString(`{"events":[`)
				for j := range 4 {
					if j > 0 {
						b.WriteByte(',')
					}
					b.WriteString(`{"external_id":"` + string(rune('a'+g)) + "-" + string(rune('a'+i)) + "-" + string(rune('a'+j)) + `"}`)
				}
				b.WriteString(`]}`)
				resp, err := http.Post(srv.URL+"/events", "application/json", &b)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}
		}()
		wg.Add(1)
		go func() { defer wg.Done(); _ = sim.Events(); _ = sim.Unique() }()
	}
	wg.Wait()
	require.Equal(t, 8*25*4, sim.Count())
	require.Equal(t, 8*25*4, sim.Unique())
	require.Len(t, sim.Events(), 10)
}

func TestStatsReportLatencyAndDeliveryWindow(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	_, stats := get(t, srv.URL+"/stats")
	require.NotContains(t, stats, "first_at", "no delivery yet")
	received := time.Now().Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
	body := `{"events":[{"external_id":"a","custom_info":{"received_at":"` + received + `"}},{"external_id":"b"}]}`
	code, _, _ := post(t, srv.URL+"/events", "", body)
	require.Equal(t, http.StatusOK, code)

	_, stats = get(t, srv.URL+"/stats")
	lat := stats["latency"].(map[string]any)
	require.EqualValues(t, 1, lat["count"], "only events that carry custom_info.received_at")
	require.GreaterOrEqual(t, lat["p50_ms"], 2000.0)
	require.Equal(t, lat["p50_ms"], lat["p99_ms"])
	first, err := time.Parse(time.RFC3339Nano, stats["first_at"].(string))
	require.NoError(t, err)
	last, err := time.Parse(time.RFC3339Nano, stats["last_at"].(string))
	require.NoError(t, err)
	require.False(t, last.Before(first))
}

func TestTracksUUIDsCompactlyAndBoundsTracking(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{MaxTracked: 3})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	id := "0195f1c2-aaaa-7bbb-8ccc-000000000001"
	for _, ev := range []string{id, id, strings.ToUpper(id), "plain", "one-too-many"} {
		code, _, _ := post(t, srv.URL+"/events", "", `{"external_id":"`+ev+`"}`)
		require.Equal(t, http.StatusOK, code)
	}
	require.Equal(t, 2, sim.Seen(id))
	require.Equal(t, 1, sim.Seen(strings.ToUpper(id)), "different strings never share a count")
	require.Equal(t, 1, sim.Seen("plain"))
	require.Zero(t, sim.Seen("one-too-many"), "past MaxTracked new ids are not tracked")
	require.Equal(t, 3, sim.Unique())
	require.Equal(t, 5, sim.Count(), "Count stays exact")
	_, stats := get(t, srv.URL+"/stats")
	require.Equal(t, true, stats["tracking_full"])
}
