package moogsim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/moogsim"
)

// TestEarlyRequestsAfterRetryAfter: a request that arrives while a simulated
// 429's Retry-After runs (past the grace) is reported as early; requests
// inside the grace, and every request once it elapsed, are not.
func TestEarlyRequestsAfterRetryAfter(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	sim.Fail(http.StatusTooManyRequests, 1)
	code, hdr, _ := post(t, srv.URL+"/events", "", `{"external_id":"a"}`)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "1", hdr.Get("Retry-After"))
	// Within the grace: in flight when the 429 was answered.
	code, _, _ = post(t, srv.URL+"/events", "", `{"external_id":"b"}`)
	require.Equal(t, http.StatusOK, code)
	r := sim.EarlyRequests(time.Minute)
	require.Equal(t, 1, r.Asked)
	require.Empty(t, r.Early)

	// Without a grace the second request came too early.
	r = sim.EarlyRequests(0)
	require.Len(t, r.Early, 1)
	require.Equal(t, http.StatusOK, r.Early[0].Status)

	arr := sim.Arrivals()
	require.Len(t, arr, 2)
	require.Equal(t, http.StatusTooManyRequests, arr[0].Status)
	require.Equal(t, time.Second, arr[0].RetryAfter)
	require.False(t, arr[0].Answered.Before(arr[0].At))

	// A 500 carries no Retry-After and forbids nothing.
	sim.Reset()
	sim.Fail(http.StatusInternalServerError, 1)
	code, hdr, _ = post(t, srv.URL+"/events", "", `{"external_id":"c"}`)
	require.Equal(t, http.StatusInternalServerError, code)
	require.Empty(t, hdr.Get("Retry-After"))
	post(t, srv.URL+"/events", "", `{"external_id":"d"}`)
	require.Zero(t, sim.EarlyRequests(0).Asked)
	require.Empty(t, sim.EarlyRequests(0).Early)
}

// TestRecordLate: with record_late, a request whose client timed out during
// the delay still counts as received (the client's retry is a duplicate);
// without it, and after heal, it does not.
func TestRecordLate(t *testing.T) {
	t.Parallel()
	sim := moogsim.New(moogsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	send := func(id string) {
		resp, err := impatient.Post(srv.URL+"/events", "application/json", strings.NewReader(`{"external_id":"`+id+`"}`))
		if err == nil {
			_ = resp.Body.Close()
		}
		require.Error(t, err, "the client times out")
	}

	code, _, _ := post(t, srv.URL+"/control", "", `{"delay_ms":2000,"record_late":true}`)
	require.Equal(t, http.StatusOK, code)
	send("late")
	require.Eventually(t, func() bool { return sim.Seen("late") == 1 }, 10*time.Second, 10*time.Millisecond)
	arr := sim.Arrivals()
	require.Len(t, arr, 1)
	require.Zero(t, arr[0].Status, "the client left before the answer")

	sim.Heal()
	sim.Delay(2 * time.Second)
	send("dropped")
	require.Eventually(t, func() bool { return len(sim.Arrivals()) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, sim.Seen("dropped"))
}
