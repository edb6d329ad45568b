package hostile

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// proc is one child process of the set: its captured output, and the peak
// resident memory seen by the sampler.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    testenv.LogBuffer // stdout and stderr together: every log line
	exited chan struct{}
	err    error // of Wait, once exited is closed

	mu      sync.Mutex
	peakRSS int64 // bytes
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) peak() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS
}

// sample reads VmRSS of the process from /proc and keeps the peak.
func (p *proc) sample() {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.peakRSS = max(p.peakRSS, kb*1024)
			p.mu.Unlock()
		}
	}
}

// instance is a production-mode MUTT process set (not `mutt dev`: long keys,
// a read-only key, real secrets, every check that production runs), each
// role a child process: `mutt all` (ingestor with its syslog and SNMP
// listeners, alerter, forwarder), `mutt api` and `mutt moog-sim`.
type instance struct {
	env     map[string]string
	procs   []*proc
	setup   []*proc // migrate and setup, run before the services
	secrets map[string]string
	prefix  string
	db      *pgxpool.Pool // the instance's database, as the test's admin
	canary  string        // in the message of valid syslog and SNMP input; a rule matches it

	ingestKey, adminKey, readKey string
	ingest, api, moogSim, worker string // host:port
	syslogUDP, syslogTCP, snmp   string
}

// secret is a value no log line may hold.
func secret(name string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "hostile-" + name + "-" + hex.EncodeToString(b)
}

// startInstance builds mutt, migrates and sets up a fresh database and key
// prefix, and starts the services. Everything is stopped at cleanup.
func startInstance(t *testing.T) *instance {
	t.Helper()
	bin := testenv.BuildMutt(t)
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })

	// PostgreSQL trusts local connections, so a password in the URL is
	// accepted and ignored: it is there to be looked for in the logs.
	dbPass := secret("dbpass")
	du, err := url.Parse(testenv.DatabaseURL(t))
	require.NoError(t, err)
	du.User = url.UserPassword(du.User.Username(), dbPass)

	in := &instance{
		prefix:    "test:" + id + ":",
		ingestKey: secret("ingestkey"), adminKey: secret("adminkey"), readKey: secret("readkey"),
		ingest: testenv.FreeAddr(t), api: testenv.FreeAddr(t), moogSim: testenv.FreeAddr(t), worker: testenv.FreeAddr(t),
		syslogUDP: testenv.FreeAddr(t), syslogTCP: testenv.FreeAddr(t), snmp: testenv.FreeAddr(t),
		secrets: map[string]string{},
	}
	snmpAuth, snmpPriv := secret("snmpauth"), secret("snmppriv")
	users, err := json.Marshal([]map[string]string{{"user": "hostile", "auth": "SHA256", "auth_key": snmpAuth, "priv": "AES", "priv_key": snmpPriv}})
	require.NoError(t, err)
	in.secrets = map[string]string{
		"INGEST_API_KEY": in.ingestKey, "WEBUI_API_KEY": in.adminKey, "WEBUI_READONLY_API_KEY": in.readKey,
		"MOOG_API_KEY": secret("moogkey"), "MUTT_KEY_FINGERPRINT_SECRET": secret("hmac"),
		"VAULT_TOKEN": secret("vaulttoken"), "database password": dbPass,
		"SNMPv3 auth key": snmpAuth, "SNMPv3 priv key": snmpPriv,
	}
	in.env = map[string]string{
		"PATH":                          os.Getenv("PATH"),
		"HOME":                          os.Getenv("HOME"),
		"REDIS_URL":                     testenv.RedisURL(),
		"DATABASE_URL":                  du.String(),
		"MUTT_REDIS_PREFIX":             in.prefix,
		"REDIS_USERNAME":                "mutt_" + id,
		"DB_USER":                       "mutt_app_" + id,
		"MUTT_SECRETS_FILE":             filepath.Join(t.TempDir(), "secrets.json"),
		"MUTT_INGEST_ADDR":              in.ingest,
		"MUTT_ALERTER_ADDR":             testenv.FreeAddr(t),
		"MUTT_FORWARDER_ADDR":           testenv.FreeAddr(t),
		"MUTT_API_ADDR":                 in.api,
		"MUTT_MOOGSIM_ADDR":             in.moogSim,
		"MOOG_WEBHOOK_URL":              "http://" + in.moogSim + "/events",
		"MUTT_SYSLOG_UDP_ADDR":          in.syslogUDP,
		"MUTT_SYSLOG_TCP_ADDR":          in.syslogTCP,
		"MUTT_SNMP_ADDR":                in.snmp,
		"MUTT_SNMP_COMMUNITIES":         "hostile",
		"MUTT_SNMP_V3_USERS":            string(users),
		"MUTT_LOG_LEVEL":                "debug", // every line a request can cause
		"MUTT_LOG_FORMAT":               "json",
		"MUTT_HTTP_READ_HEADER_TIMEOUT": "3s",
		"MUTT_HTTP_READ_TIMEOUT":        "6s",
		"MUTT_INGEST_BODY_TIMEOUT":      "6s",
		"MUTT_HTTP_MAX_CONNS":           "256",
		// The worker and the API's console actions on the test Temporal
		// server, in a namespace of their own.
		"TEMPORAL_ADDRESS":            testenv.TemporalAddress(),
		"TEMPORAL_NAMESPACE":          temporalNamespace,
		"MUTT_WORKER_ADDR":            in.worker,
		"MUTT_WORKER_APPLY_SCHEDULES": "true",
	}
	for k, v := range in.secrets {
		if strings.ToUpper(k) == k {
			in.env[k] = v
		}
	}

	for _, args := range [][]string{{"migrate", "up"}, {"setup"}} {
		p := in.run(t, bin, args...)
		select {
		case <-p.exited:
		case <-time.After(3 * time.Minute):
			t.Fatalf("mutt %s did not finish in 3m: %s", args, p.out.String())
		}
		require.NoError(t, p.err, "mutt %s: %s", args, p.out.String())
		in.setup = append(in.setup, p)
	}
	// What setup generated (Redis and PostgreSQL passwords of the services,
	// the key-name secret) is secret too.
	var generated struct {
		Values map[string]string `json:"values"`
	}
	b, err := os.ReadFile(in.env["MUTT_SECRETS_FILE"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &generated))
	for k, v := range generated.Values {
		if len(v) >= 16 && !strings.HasSuffix(k, "_USER") { // user names are not secret
			in.secrets["secrets file "+k] = v
		}
	}
	require.Greater(t, len(in.secrets), 11, "setup generated the services' passwords and the key-name secret: %v", slices.Collect(maps.Keys(generated.Values)))

	registerNamespace(t)
	for _, role := range []string{"moog-sim", "all", "api", "worker"} {
		in.procs = append(in.procs, in.run(t, bin, role))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, p := range in.procs {
				p.sample()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, p := range in.procs {
			assert.True(c, p.alive(), "%s exited: %v\n%s", p.name, p.err, p.out.String())
		}
		for _, a := range []string{in.ingest, in.api, in.moogSim, in.worker} {
			assert.Equal(c, http.StatusOK, status("http://"+a+"/health"), a)
		}
	}, 3*time.Minute, 200*time.Millisecond)

	in.db, err = pgxpool.New(context.Background(), in.env["DATABASE_URL"])
	require.NoError(t, err)
	t.Cleanup(in.db.Close)
	// Only events a rule matches are audited: this rule makes a valid syslog
	// message or trap that got through visible in event_audit_log.
	in.canary = "HOSTILE-CANARY-" + id
	rule, err := json.Marshal(map[string]any{"match_string": in.canary, "match_type": "contains", "priority": 1,
		"prod_handling": "Page_and_ticket", "dev_handling": "Ignore", "team_assignment": "hostile", "reason": "hostile-client canary"})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+in.api+"/api/v2/rules", strings.NewReader(string(rule)))
	require.NoError(t, err)
	req.Header.Set("X-API-KEY", in.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	return in
}

// audited counts the audit rows whose raw message holds needle.
func (in *instance) audited(c assert.TestingT, needle string) int {
	var n int
	assert.NoError(c, in.db.QueryRow(context.Background(),
		`SELECT count(*) FROM event_audit_log WHERE raw_message LIKE '%' || $1 || '%'`, needle).Scan(&n))
	return n
}

// run starts `mutt args...` with the instance's environment; it is stopped
// with SIGTERM (then SIGKILL) at cleanup.
func (in *instance) run(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: strings.Join(args, " "), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...) // #nosec G204 -- the binary this test built
	for k, v := range in.env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		if !p.alive() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// status is the status code of a GET, 0 when it fails.
func status(u string) int {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// requireHealthy fails unless every service still runs and answers /health.
func (in *instance) requireHealthy(t *testing.T, after string) {
	t.Helper()
	for _, p := range in.procs {
		require.True(t, p.alive(), "%s crashed after %s: %v\n%s", p.name, after, p.err, tail(p.out.String(), 4000))
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, a := range []string{in.ingest, in.api, in.worker} {
			assert.Equal(c, http.StatusOK, status("http://"+a+"/health"), "%s after %s", a, after)
		}
	}, 60*time.Second, 100*time.Millisecond)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// fromIP is an HTTP client whose connections come from the loopback address
// 127.0.x.y: the API throttles failed authentications per client address,
// and the route walk sends many on purpose.
func fromIP(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
