package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/schema"
)

// Options of a benchmark run.
type Options struct {
	Exe              string        // the mutt binary to start
	RedisURL         string        // Redis server
	RedisCluster     bool          // RedisURL names a Redis Cluster (MUTT_REDIS_CLUSTER; the roles read it from the environment)
	AdminDatabaseURL string        // any database URL of the PostgreSQL server; a bench database is created and dropped
	Rate             int           // events/s offered in the fixed-rate phase
	Duration         time.Duration // of each phase
	Batch            int           // events per HTTP request
	Senders          int           // concurrent HTTP clients
	Phases           []string      // "fixed", "saturate", "archive" (saturation while RetentionWorkflow archives ArchiveRows)
	ArchiveRows      int           // audit rows the archive phase seeds past retention and archives
	ProfileDir       string        // when set, CPU profiles and execution traces of each role are taken during every load phase
	Warmup           time.Duration // load at Rate before the first measured phase, not counted (connections, scripts, heap sizes)
	NoCeilings       bool          // skip measuring PostgreSQL's and Redis's own ceilings
	CeilingDuration  time.Duration // of each ceiling measurement; 3s when zero
	OneProcess       bool          // run the three hot-path roles as one `mutt all` process
	Out              io.Writer
}

// Phase is the result of one load phase.
type Phase struct {
	Name                 string
	OfferedRate          int // 0 = as fast as possible
	Accepted, Refused    int64
	Audited, Delivered   int64
	AcceptedPerSec       float64
	AuditedPerSec        float64
	DeliveredPerSec      float64
	EndToEndPerSec       float64 // accepted events / (load start → last delivery)
	P50, P95, P99        time.Duration
	Drained              bool
	DrainAfterLoad       time.Duration
	HTTPErrors           int64
	Elapsed              time.Duration
	LatencyMeasuredCount int64
	Stages               []Stage // per-stage timings from the roles' own histograms
	// CPU is the CPU time each component of the machine used from the load's
	// start to the drain, largest first; MachineBusy the share of all CPUs
	// that was busy meanwhile (near 1: the machine's CPU is the limit).
	CPU         []CPUShare
	MachineBusy float64
}

// Report is the whole run.
type Report struct {
	Ceilings Ceilings
	Phases   []Phase
	PeakRSS  map[string]int64 // bytes, per process
	// LoadAvg is the 1-minute load average at the start and the end of the
	// run: on a shared machine it says how far to trust the numbers.
	LoadAvg [2]float64
}

type proc struct {
	name string
	cmd  *exec.Cmd
}

type run struct {
	o        Options
	prefix   string
	dbName   string
	dbURL    string
	adminURL string
	ports    map[string]string
	procs    []*proc
	db       *pgxpool.Pool
	rdb      redis.UniversalClient
	keys     keyspace.Keys
	client   *http.Client
	apiKey   string
	bodies   [][]byte
	ingest   string
	simURL   string
	logFile  *os.File
	env      []string // of the role processes (see StartRole)
}

// Run executes the benchmark.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &run{o: o, apiKey: "bench-ingest-key-0123456789abcdef0123456789", ports: map[string]string{}} // #nosec G101 -- a throwaway key of the processes this bench starts and stops
	defer r.teardown()
	if err := makeProfileDir(o.ProfileDir); err != nil {
		return nil, err
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	rep := &Report{PeakRSS: map[string]int64{}}
	rep.LoadAvg[0] = loadAvg()
	fmt.Fprintf(r.o.Out, "bench: load average %.2f at the start (%d CPUs)\n", rep.LoadAvg[0], runtime.NumCPU())
	if !o.NoCeilings {
		c, err := r.ceilings(ctx)
		if err != nil {
			return rep, err
		}
		rep.Ceilings = c
		printCeilings(o.Out, c)
		r.checkpoint(ctx)
	}
	if o.Warmup > 0 {
		p, err := r.phaseFor(ctx, "warm-up", max(o.Rate, 1), o.Warmup, nil, nil)
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(o.Out, "bench: warm-up done (%d events accepted, p99 %s; not counted)\n", p.Accepted, p.P99.Round(time.Millisecond/10))
	}
	for _, ph := range o.Phases {
		var p Phase
		var err error
		switch ph {
		case "fixed":
			p, err = r.phase(ctx, "fixed rate", o.Rate, nil, nil)
		case "saturate":
			p, err = r.phase(ctx, "saturation", 0, nil, nil)
		case "archive":
			p, err = r.archivePhase(ctx)
		default:
			err = fmt.Errorf("unknown phase %q", ph)
		}
		if err != nil {
			return rep, err
		}
		rep.Phases = append(rep.Phases, p)
		printPhase(o.Out, p)
		printStages(o.Out, p.Stages)
		printCPU(o.Out, p)
		printRatios(o.Out, p, rep.Ceilings)
	}
	rep.LoadAvg[1] = loadAvg()
	fmt.Fprintln(o.Out, "\n== peak RSS ==")
	for _, p := range r.procs {
		rep.PeakRSS[p.name] = peakRSS(p.cmd.Process.Pid)
		fmt.Fprintf(o.Out, "  %-10s %6.1f MiB\n", p.name, float64(rep.PeakRSS[p.name])/(1<<20))
	}
	fmt.Fprintf(o.Out, "\nbench: load average %.2f at the start, %.2f at the end\n", rep.LoadAvg[0], rep.LoadAvg[1])
	return rep, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

func (r *run) setup(ctx context.Context) error {
	r.prefix = "bench:" + uuid.NewString()[:8] + ":"
	r.dbName = "mutt_bench_" + strconv.FormatInt(time.Now().Unix(), 10)
	u, err := url.Parse(r.o.AdminDatabaseURL)
	if err != nil {
		return fmt.Errorf("database url: %w", err)
	}
	u.Path = "/postgres" // create the bench database from the maintenance database
	r.adminURL = u.String()
	admin, err := pgx.Connect(ctx, r.adminURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+r.dbName)
	_ = admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("create bench database: %w", err)
	}
	u.Path = "/" + r.dbName
	r.dbURL = u.String()
	if r.db, err = pgxpool.New(ctx, r.dbURL); err != nil {
		return err
	}
	if _, err := schema.Up(ctx, r.db, time.Now()); err != nil {
		return err
	}
	if _, err := schema.SeedExamples(ctx, r.db); err != nil {
		return err
	}
	if r.rdb, err = redisconn.Open(ctx, redisconn.Options{URL: r.o.RedisURL, Cluster: r.o.RedisCluster}); err != nil {
		return err
	}
	r.keys = keyspace.New(r.prefix, 1)
	for k, v := range map[string]string{
		"ingest_max_rate": "0", "moog_rate_limit": "0", "moog_batch_size": "100",
		"max_ingest_queue_size": "100000",
	} {
		if err := dynconfig.Set(ctx, r.rdb, r.keys, k, v); err != nil {
			return err
		}
	}
	for _, n := range []string{"ingest", "alerter", "forwarder", "sim"} {
		if r.ports[n], err = freePort(); err != nil {
			return err
		}
	}
	r.ingest = "http://127.0.0.1:" + r.ports["ingest"]
	r.simURL = "http://127.0.0.1:" + r.ports["sim"]
	env := append(os.Environ(),
		"REDIS_URL="+r.o.RedisURL, "DATABASE_URL="+r.dbURL, "MUTT_REDIS_PREFIX="+r.prefix,
		"INGEST_API_KEY="+r.apiKey, "MOOG_WEBHOOK_URL="+r.simURL+"/events", "MOOG_API_KEY=bench-moog-key-0123456789abcdef0123456789",
		"MUTT_INGEST_ADDR=127.0.0.1:"+r.ports["ingest"], "MUTT_ALERTER_ADDR=127.0.0.1:"+r.ports["alerter"],
		"MUTT_FORWARDER_ADDR=127.0.0.1:"+r.ports["forwarder"], "MUTT_MOOGSIM_ADDR=127.0.0.1:"+r.ports["sim"],
		"MUTT_LOG_LEVEL=warn", "MUTT_PPROF="+strconv.FormatBool(r.o.ProfileDir != ""))
	r.env = env
	if r.logFile, err = os.CreateTemp("", "mutt-bench-*.log"); err != nil {
		return err
	}
	fmt.Fprintf(r.o.Out, "bench: processes log to %s\n", r.logFile.Name())
	roles := []string{"moog-sim", "ingestor", "alerter", "forwarder"}
	if r.o.OneProcess {
		roles = []string{"moog-sim", "all"}
	}
	for _, role := range roles {
		cmd := exec.Command(r.o.Exe, role) // #nosec G204 -- our own mutt binary and a fixed role name
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = r.logFile, r.logFile
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", role, err)
		}
		r.procs = append(r.procs, &proc{name: role, cmd: cmd})
	}
	r.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: r.o.Senders * 2, MaxIdleConnsPerHost: r.o.Senders * 2, IdleConnTimeout: time.Minute}}
	for _, h := range []string{r.ingest + "/health", "http://127.0.0.1:" + r.ports["alerter"] + "/health",
		"http://127.0.0.1:" + r.ports["forwarder"] + "/health", r.simURL + "/health"} {
		if err := r.waitHealthy(ctx, h); err != nil {
			return err
		}
	}
	r.bodies = makeBodies(64, r.o.Batch)
	return nil
}

func (r *run) waitHealthy(ctx context.Context, u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := r.client.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become healthy in 30s (see the process log)", u)
}

// makeBodies builds n distinct request bodies of batch events: 90 % match a seed
// rule on production hosts (forwarded), 10 % match nothing (unhandled).
func makeBodies(n, batch int) [][]byte {
	msgs := []string{
		"%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down LINK-DOWN",
		"%SYS-2-MALLOCFAIL: CRITICAL memory allocation failed, pool %d",
		"%OSPF-4-ERROR: neighbor 10.0.0.%d adjacency ERROR",
	}
	sev := []string{"error", "critical", "warning"}
	out := make([][]byte, n)
	for i := range out {
		var b bytes.Buffer
		b.WriteByte('[')
		for j := 0; j < batch; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			k := i*batch + j
			host := fmt.Sprintf("router%d.prod.example.com", k%50)
			msg := fmt.Sprintf("heartbeat ok seq %d", k%7)
			if k%10 != 0 {
				msg = fmt.Sprintf(msgs[k%3], k%48)
			}
			ev := map[string]any{"hostname": host, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
				"message": msg, "syslog_severity": sev[k%3], "source_type": "cisco-ios"}
			enc, _ := json.Marshal(ev)
			b.Write(enc)
		}
		b.WriteByte(']')
		out[i] = b.Bytes()
	}
	return out
}

type simStats struct {
	Count   int64 `json:"count"`
	Unique  int64 `json:"unique"`
	Latency struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P95   float64 `json:"p95_ms"`
		P99   float64 `json:"p99_ms"`
	} `json:"latency"`
	FirstAt time.Time `json:"first_at"`
	LastAt  time.Time `json:"last_at"`
}

func (r *run) sim(ctx context.Context) (simStats, error) {
	var s simStats
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.simURL+"/stats", nil)
	resp, err := r.client.Do(req)
	if err != nil {
		return s, err
	}
	defer func() { _ = resp.Body.Close() }()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func (r *run) audited(ctx context.Context) (int64, error) {
	var n int64
	// The load's events are from today; rows the archive phase seeded are months old.
	err := r.db.QueryRow(ctx, `SELECT count(*) FROM event_audit_log WHERE event_timestamp > now() - interval '1 day'`).Scan(&n)
	return n, err
}

// phase empties the audit log, runs prepare (if set), then offers load at
// rate events/s (0: as fast as the pipeline takes it) for the configured
// duration with during (if set) running alongside, and waits for the pipeline
// to drain.
func (r *run) phase(ctx context.Context, name string, rate int, prepare func(context.Context) error, during func(context.Context)) (Phase, error) {
	return r.phaseFor(ctx, name, rate, r.o.Duration, prepare, during)
}

// phaseFor is phase with load offered for d.
func (r *run) phaseFor(ctx context.Context, name string, rate int, d time.Duration, prepare func(context.Context) error, during func(context.Context)) (Phase, error) {
	p := Phase{Name: name, OfferedRate: rate}
	if _, err := r.db.Exec(ctx, `TRUNCATE event_audit_log`); err != nil {
		return p, err
	}
	if prepare != nil {
		if err := prepare(ctx); err != nil {
			return p, err
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.simURL+"/reset", nil)
	if resp, err := r.client.Do(req); err != nil {
		return p, fmt.Errorf("reset simulator: %w", err)
	} else {
		_ = resp.Body.Close()
	}
	fmt.Fprintf(r.o.Out, "bench: %s phase, %s, batches of %d, %d senders\n", name, d, r.o.Batch, r.o.Senders)

	var accepted, refused, httpErrs atomic.Int64
	scraped := r.scrapeStages(ctx)
	cpuBefore := r.sampleCPU()
	start := time.Now()
	lctx, cancel := context.WithDeadline(ctx, start.Add(d))
	defer cancel()
	tickets := make(chan struct{}, r.o.Senders)
	if rate > 0 {
		go func() {
			interval := time.Duration(float64(time.Second) * float64(r.o.Batch) / float64(rate))
			for i := 0; ; i++ {
				due := start.Add(time.Duration(i) * interval)
				select {
				case <-lctx.Done():
					close(tickets)
					return
				case <-time.After(time.Until(due)):
				}
				select {
				case tickets <- struct{}{}:
				case <-lctx.Done():
					close(tickets)
					return
				}
			}
		}()
	}
	var wg sync.WaitGroup
	if during != nil {
		wg.Add(1)
		go func() { defer wg.Done(); during(ctx) }()
	}
	if r.o.ProfileDir != "" && name != "warm-up" {
		wg.Add(1)
		go func() { defer wg.Done(); r.profile(lctx, name, d) }()
	}
	for s := 0; s < r.o.Senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := s; ; i += r.o.Senders {
				if rate > 0 {
					if _, ok := <-tickets; !ok {
						return
					}
				} else if lctx.Err() != nil {
					return
				}
				code, err := r.post(lctx, r.bodies[i%len(r.bodies)])
				switch {
				case err != nil:
					if lctx.Err() == nil {
						httpErrs.Add(1)
					}
				case code == http.StatusOK:
					accepted.Add(int64(r.o.Batch))
				default:
					refused.Add(int64(r.o.Batch))
					time.Sleep(50 * time.Millisecond) // a polite client backs off on 429/503
				}
			}
		}(s)
	}
	wg.Wait()
	loadEnd := time.Now()
	p.Accepted, p.Refused, p.HTTPErrors = accepted.Load(), refused.Load(), httpErrs.Load()
	p.AcceptedPerSec = float64(p.Accepted) / loadEnd.Sub(start).Seconds()

	// Wait for the pipeline to drain: everything accepted audited and delivered.
	want := p.Accepted * 9 / 10 // the unhandled tenth is neither audited nor delivered
	var auditDone time.Time
	deadline := loadEnd.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		a, err := r.audited(ctx)
		if err != nil {
			return p, err
		}
		if a >= want && auditDone.IsZero() {
			auditDone = time.Now()
		}
		st, err := r.sim(ctx)
		if err != nil {
			return p, err
		}
		p.Audited, p.Delivered = a, st.Unique
		if a >= want && st.Unique >= want {
			p.Drained = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.CPU, p.MachineBusy = cpuShares(cpuBefore, r.sampleCPU(), p.Accepted)
	st, err := r.sim(ctx)
	if err != nil {
		return p, err
	}
	if auditDone.IsZero() {
		auditDone = time.Now()
	}
	end := st.LastAt
	if end.IsZero() || end.Before(start) {
		end = time.Now()
	}
	p.Elapsed = end.Sub(start)
	p.DrainAfterLoad = end.Sub(loadEnd)
	if p.DrainAfterLoad < 0 {
		p.DrainAfterLoad = 0
	}
	p.AuditedPerSec = float64(p.Audited) / auditDone.Sub(start).Seconds()
	p.DeliveredPerSec = float64(p.Delivered) / end.Sub(start).Seconds()
	// Every accepted event has gone through the whole pipeline by the last delivery.
	p.EndToEndPerSec = float64(p.Accepted) / end.Sub(start).Seconds()
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	p.P50, p.P95, p.P99 = ms(st.Latency.P50), ms(st.Latency.P95), ms(st.Latency.P99)
	p.LatencyMeasuredCount = st.Latency.Count
	p.Stages = stages(scraped, r.scrapeStages(ctx))
	return p, nil
}

func (r *run) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.ingest+"/ingest", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-API-KEY", r.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// makeProfileDir creates dir (and its parents) for the profiles, so a run
// does not spend its phases only to find it cannot save them. "" is no
// profiling.
func makeProfileDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("profile directory: %w", err)
	}
	return nil
}

// profile takes, in the middle of a phase's load of length d, a CPU profile
// (half of d) and then an execution trace (a tenth of d, at least a second)
// of each role over its debug port, into ProfileDir as
// <phase>-<role>.cpu.pprof and <phase>-<role>.trace. Both cost the role CPU
// while they run: a phase that is profiled measures the pipeline a little
// slower than one that is not.
func (r *run) profile(ctx context.Context, phase string, d time.Duration) {
	secs := max(int(d.Seconds()/2), 1)
	traceSecs := max(int(d.Seconds()/10), 1)
	select {
	case <-ctx.Done():
		return
	case <-time.After(d / 5):
	}
	slug := strings.ReplaceAll(phase, " ", "-")
	var wg sync.WaitGroup
	for role, port := range map[string]string{"ingestor": r.ports["ingest"], "alerter": r.ports["alerter"],
		"forwarder": r.ports["forwarder"], "moog-sim": r.ports["sim"]} {
		wg.Go(func() {
			base := filepath.Join(r.o.ProfileDir, slug+"-"+role)
			if r.fetchProfile(fmt.Sprintf("http://127.0.0.1:%s/debug/pprof/profile?seconds=%d", port, secs), base+".cpu.pprof") {
				fmt.Fprintf(r.o.Out, "bench: CPU profile of %s (%s): go tool pprof -top %s.cpu.pprof\n", role, phase, base)
			}
			if ctx.Err() != nil {
				return
			}
			if r.fetchProfile(fmt.Sprintf("http://127.0.0.1:%s/debug/pprof/trace?seconds=%d", port, traceSecs), base+".trace") {
				fmt.Fprintf(r.o.Out, "bench: execution trace of %s (%s): go tool trace %s.trace\n", role, phase, base)
			}
		})
	}
	wg.Wait()
}

// fetchProfile saves what u serves to path; false (and a printed reason) when that failed.
func (r *run) fetchProfile(u, path string) bool {
	resp, err := http.Get(u) // #nosec G107 -- a loopback pprof URL of a process bench started
	if err != nil {
		fmt.Fprintf(r.o.Out, "bench: profile %s: %v\n", path, err)
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(r.o.Out, "bench: profile %s: %s\n", path, resp.Status)
		return false
	}
	f, err := os.Create(path) // #nosec G304 -- the operator chose ProfileDir; the name is the phase and role
	if err == nil {
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(r.o.Out, "bench: profile %s: %v\n", path, err)
		return false
	}
	return true
}

// checkpoint asks PostgreSQL to write out what the ceiling measurement
// dirtied now, rather than in a checkpoint during the first measured phase,
// whose fsyncs would then stall the audit writes MUTT is timed on.
func (r *run) checkpoint(ctx context.Context) {
	if _, err := r.db.Exec(ctx, "CHECKPOINT"); err != nil {
		fmt.Fprintf(r.o.Out, "bench: CHECKPOINT after the ceilings failed (%v): the first phase may pay for it\n", err)
	}
}

// peakRSS reads VmHWM (peak resident set) of a live process, in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (r *run) teardown() {
	for _, p := range r.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range r.procs {
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.db != nil {
		r.db.Close()
	}
	if r.dbName != "" {
		if admin, err := pgx.Connect(ctx, r.adminURL); err == nil {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+r.dbName+" WITH (FORCE)")
			_ = admin.Close(ctx)
		}
	}
	if r.rdb != nil {
		keys, _ := redisconn.ScanKeys(ctx, r.rdb, r.prefix+"*", 1000)
		_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys { // one DEL per key: a cluster refuses keys of several slots in one
				p.Del(ctx, k)
			}
			return nil
		})
		_ = r.rdb.Close()
	}
	if r.logFile != nil {
		_ = r.logFile.Close()
	}
}

func printPhase(w io.Writer, p Phase) {
	offered := "max"
	if p.OfferedRate > 0 {
		offered = strconv.Itoa(p.OfferedRate) + "/s"
	}
	fmt.Fprintf(w, `
== %s (offered %s) ==
  accepted   %9d events  %9.0f events/s   (refused %d, http errors %d)
  audited    %9d events  %9.0f events/s   (matched events: 90%% of the load; the rest is unhandled)
  delivered  %9d alerts  %9.0f alerts/s   (unique external_ids at the simulator)
  end to end %9.0f events/s   (accepted events / load start → last delivery)
  drained    %v, %s after the load stopped
  latency    p50 %s  p95 %s  p99 %s   (ingest received_at → simulator, %d alerts)
`, p.Name, offered, p.Accepted, p.AcceptedPerSec, p.Refused, p.HTTPErrors, p.Audited, p.AuditedPerSec,
		p.Delivered, p.DeliveredPerSec, p.EndToEndPerSec, p.Drained, p.DrainAfterLoad.Round(time.Millisecond),
		p.P50.Round(time.Millisecond/10), p.P95.Round(time.Millisecond/10), p.P99.Round(time.Millisecond/10), p.LatencyMeasuredCount)
}

// Bodies returns n distinct JSON-array request bodies of batch events each,
// the load this benchmark offers: 90 % match a seed rule on production hosts
// (audited and forwarded), 10 % match no rule (heartbeats, unhandled).
func Bodies(n, batch int) [][]byte { return makeBodies(n, batch) }
