package hostile

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rssBound is the generous bound on the resident memory of each process
// during the whole attack: the request body limits (10 MiB ingest, 1 MiB
// API), the connection cap (MUTT_HTTP_MAX_CONNS=256 here) and the syslog
// and SNMP message bounds keep every process far below it.
const rssBound = 512 << 20

// tally counts the answers of every request the attack sent, by listener
// and status code (0: no answer, the connection was closed or reset).
type tally struct {
	mu     sync.Mutex
	counts map[string]map[int]int
	bad    []string // 5xx other than documented backpressure
}

func newTally() *tally { return &tally{counts: map[string]map[int]int{}} }

func (t *tally) add(listener string, code int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts[listener] == nil {
		t.counts[listener] = map[int]int{}
	}
	t.counts[listener][code]++
}

// fail records a server error the test will report.
func (t *tally) fail(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bad = append(t.bad, what)
}

// total counts the requests, the 5xx answers and, of those, the documented 503s.
func (t *tally) total() (n, fivexx, documented int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for l, m := range t.counts {
		for c, k := range m {
			n += k
			if c >= 500 {
				fivexx += k
				if strings.HasSuffix(l, "(documented 503)") {
					documented += k
				}
			}
		}
	}
	return n, fivexx, documented
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for l, m := range t.counts {
		var codes []int
		for c := range m {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		var parts []string
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("%d×%d", c, m[c]))
		}
		lines = append(lines, l+": "+strings.Join(parts, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// seed is HOSTILE_SEED when set (to replay a run), else the clock.
func seed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("HOSTILE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "HOSTILE_SEED")
		return v
	}
	return uint64(time.Now().UnixNano()) // #nosec G115 -- a seed, any bits will do
}

// envInt is a count the run can be scaled with (HOSTILE_REQUESTS…).
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	if s := os.Getenv(name); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, name)
		return v
	}
	return def
}

// TestHostileClients starts a MUTT process set and attacks every listener it
// has. Each phase ends with every process alive and healthy; at the end no
// answer was a 5xx (503 backpressure aside), no process grew past rssBound,
// and no captured log line holds a secret.
func TestHostileClients(t *testing.T) {
	t.Parallel()
	started := time.Now()
	in := startInstance(t)
	s := seed(t)
	t.Logf("HOSTILE_SEED=%d (set it to replay this run's random requests)", s)
	tl := newTally()

	phases := []struct {
		name string
		fn   func(*testing.T, *instance, *tally, *rand.Rand)
	}{
		{"route table", func(t *testing.T, in *instance, tl *tally, _ *rand.Rand) { walkRoutes(t, in, tl) }},
		{"random requests", randomRequests},
		{"huge and nested bodies", hugeBodies},
		{"slow clients", slowClients},
		{"connection flood", connectionFlood},
		{"syslog garbage", syslogGarbage},
		{"snmp garbage", snmpGarbage},
		{"temporal actions", temporalActions},
	}
	for i, ph := range phases {
		ok := t.Run(ph.name, func(t *testing.T) {
			ph.fn(t, in, tl, rand.New(rand.NewPCG(s, uint64(i)))) // #nosec G404 -- reproducible attack, not a secret
			in.requireHealthy(t, ph.name)
			var peaks []string
			for _, p := range in.procs {
				peaks = append(peaks, fmt.Sprintf("%s %.1f MiB", p.name, float64(p.peak())/(1<<20)))
			}
			t.Logf("peak RSS so far: %s", strings.Join(peaks, ", "))
		})
		require.True(t, ok, "phase %q failed", ph.name)
	}

	n, fivexx, documented := tl.total()
	var load string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var peaks []string
	for _, p := range in.procs {
		peaks = append(peaks, fmt.Sprintf("%s %.1f MiB", p.name, float64(p.peak())/(1<<20)))
	}
	t.Logf("hostile run: %d HTTP requests (%s), 5xx %d (documented 503: %d), peak RSS: %s; %s; load average %s, %d CPUs",
		n, tl, fivexx-documented, documented, strings.Join(peaks, ", "), time.Since(started).Round(time.Second), load, runtime.NumCPU())
	require.Empty(t, tl.bad, "server errors")
	require.Equal(t, documented, fivexx, "5xx answers: %s", tl)
	for _, p := range in.procs {
		require.Positive(t, p.peak(), "%s: RSS was sampled", p.name)
		require.Less(t, p.peak(), int64(rssBound), "%s: peak RSS", p.name)
	}
	checkLogs(t, in)
}

// checkLogs: no captured line of any process (setup included) holds a
// secret, and none reports a panic.
func checkLogs(t *testing.T, in *instance) {
	t.Helper()
	var lines int
	for _, p := range append(append([]*proc{}, in.setup...), in.procs...) {
		out := p.out.String()
		lines += strings.Count(out, "\n")
		for name, v := range in.secrets {
			require.NotContains(t, out, v, "%s logged %s", p.name, name)
			// A secret cut in half or escaped is still a leak: look for its tail too.
			require.NotContains(t, out, v[len(v)/2:], "%s logged part of %s", p.name, name)
		}
		require.NotContains(t, out, "panic", "%s", p.name)
		require.NotContains(t, out, "goroutine ", "%s printed a stack", p.name)
	}
	require.Positive(t, lines)
	t.Logf("secrets scan: %d secrets, %d log lines from %d processes", len(in.secrets), lines, len(in.setup)+len(in.procs))
}

// documented503 are the 503 answers docs/API_REFERENCE.md promises, so not
// bugs: the ingestor's backpressure (with Retry-After) and the dead-letter
// and jobs actions of an API without Temporal ("503 without Temporal"; this
// set runs none, so the ops plane cannot be driven by random requests).
func documented503(resp *http.Response, body string) bool {
	return resp.StatusCode == http.StatusServiceUnavailable &&
		(resp.Header.Get("Retry-After") != "" || strings.Contains(body, "Temporal is not configured on this API server"))
}

// answer classifies one HTTP answer: a 5xx is a bug unless documented503.
func answer(tl *tally, listener, what string, resp *http.Response, body string) {
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	if code >= 500 && documented503(resp, body) {
		listener += " (documented 503)"
	} else if code >= 500 {
		tl.fail(fmt.Sprintf("%s → %d: %.300s", what, code, body))
	}
	tl.add(listener, code)
}
