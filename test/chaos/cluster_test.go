package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/mutt-ops/mutt/internal/bench"
	"github.com/mutt-ops/mutt/internal/chaos"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/moogsim"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/schema"
)

// exe is the mutt binary TestMain builds once for every test of the package.
var exe string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mutt-chaos-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	exe, err = chaos.BuildMutt(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const (
	ingestKey = "chaos-ingest-key-0123456789abcdef0123456789" // #nosec G101 -- a throwaway key of processes this test starts
	moogKey   = "chaos-moog-key-0123456789abcdef0123456789"   // #nosec G101 -- a throwaway key of the simulator this test starts
	namespace = "mutt-chaos"                                  // Temporal namespace of the chaos workers
)

// clusterOptions choose the storage of a cluster.
type clusterOptions struct {
	AppendFsync string // "always" or "everysec"
	// Secrets: the processes log in as their own Redis ACL user and
	// PostgreSQL role with passwords from a secrets file (`mutt setup`),
	// so a secret rotation can change them (withSecrets).
	Secrets bool
	// OwnNamespace gives the cluster a Temporal namespace of its own: a test
	// that runs workflows must not have them taken by the worker of another
	// chaos run on the same server (all workers poll mutt-ops).
	OwnNamespace bool
}

// cluster is a whole MUTT installation of real processes: two ingestors, two
// alerters, two forwarders and a worker, on a private redis-server and a
// private PostgreSQL that faults may kill, with the Moogsoft simulator in
// the test process (so the reconciliation can ask it about every event_id).
type cluster struct {
	t     *testing.T
	p     profile
	rng   *rand.Rand
	redis *testenv.RedisServer
	shim  *chaos.FsyncShim // redis runs under it: faults can cut its AOF to the last fsync
	pg    *testenv.PostgresServer
	db    *pgxpool.Pool
	rdb   *redis.Client
	keys  keyspace.Keys
	sim   *moogsim.Sim
	// simAddr is where the simulator listens; simStop closes its listener
	// (connection refused) and returns once it is closed.
	simAddr string
	simStop func()
	procs   []*chaos.Process
	ingest  []string // base URLs of the ingestors
	bodies  [][]byte
	logDir  string
	rows    []row
	last    []chaos.Accepted // the events accepted in the last phase

	// With clusterOptions.Secrets: the secrets file and PostgreSQL's host:port.
	secretsFile, pgHost string
	namespace           string // the workers' Temporal namespace
}

func newCluster(t *testing.T, p profile, o clusterOptions) *cluster {
	t.Helper()
	ctx := context.Background()
	seed := p.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos profile %s, seed %d (MUTT_CHAOS_SEED=%d repeats the fault schedule)", p.name, seed, seed)
	c := &cluster{t: t, p: p, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} // #nosec G404 -- fault timing, no secret
	logDir, err := os.MkdirTemp("", "mutt-chaos-logs-*")
	require.NoError(t, err)
	c.logDir = logDir
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs kept in %s", logDir)
			return
		}
		_ = os.RemoveAll(logDir)
	})

	c.shim, err = chaos.BuildFsyncShim(ctx, t.TempDir())
	require.NoError(t, err)
	c.redis = testenv.StartRedis(t, testenv.RedisServerOptions{AOF: true, AppendFsync: o.AppendFsync, ACLFile: o.Secrets, Env: c.shim.Env()})
	c.pg = testenv.StartPostgres(t)
	admin, err := pgx.Connect(ctx, c.pg.URL)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE mutt_chaos")
	require.NoError(t, err)
	require.NoError(t, admin.Close(ctx))
	dbURL := strings.Replace(c.pg.URL, "/postgres?", "/mutt_chaos?", 1)
	c.db, err = pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(c.db.Close)
	_, err = schema.Up(ctx, c.db, time.Now())
	require.NoError(t, err)
	_, err = schema.SeedExamples(ctx, c.db)
	require.NoError(t, err)

	prefix := "chaos:" + uuid.NewString()[:8] + ":"
	c.rdb = redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	t.Cleanup(func() { _ = c.rdb.Close() })
	c.keys = keyspace.New(prefix, 1)
	for k, v := range map[string]string{
		"ingest_max_rate": "0", "moog_rate_limit": "0", "moog_batch_size": "100",
		"max_ingest_queue_size": "200000",
		// A killed consumer's entries are reclaimed after this idle time.
		"stream_visibility_timeout_ms": "3000",
	} {
		require.NoError(t, dynconfig.Set(ctx, c.rdb, c.keys, k, v))
	}

	simAddr := testenv.FreeAddr(t)
	c.sim = moogsim.New(moogsim.Options{APIKey: moogKey})
	c.simAddr = simAddr
	c.startSim()
	t.Cleanup(c.stopSim)

	c.namespace = namespace
	if o.OwnNamespace {
		c.namespace = namespace + "-" + uuid.NewString()[:8]
	}
	registerNamespace(t, c.namespace)
	logf, err := os.Create(filepath.Join(logDir, "processes.log")) // #nosec G304 -- the test's own temp dir
	require.NoError(t, err)
	t.Cleanup(func() { _ = logf.Close() })
	common := append(os.Environ(),
		"REDIS_URL=redis://"+c.redis.Addr+"/0", "DATABASE_URL="+dbURL, "MUTT_REDIS_PREFIX="+prefix,
		"INGEST_API_KEY="+ingestKey, "MOOG_WEBHOOK_URL=http://"+simAddr+"/events", "MOOG_API_KEY="+moogKey,
		"TEMPORAL_ADDRESS="+testenv.TemporalAddress(), "TEMPORAL_NAMESPACE="+c.namespace,
		"MUTT_LOG_LEVEL=warn", "MUTT_LOG_FORMAT=text")
	if o.Secrets {
		common = c.withSecrets(ctx, common)
	}
	for _, r := range []struct {
		role, addrVar string
		n             int
	}{
		{"ingestor", "MUTT_INGEST_ADDR", 2}, {"alerter", "MUTT_ALERTER_ADDR", 2},
		{"forwarder", "MUTT_FORWARDER_ADDR", 2}, {"worker", "MUTT_WORKER_ADDR", 1},
	} {
		for i := 1; i <= r.n; i++ {
			addr := testenv.FreeAddr(t)
			p := &chaos.Process{Name: r.role + "-" + strconv.Itoa(i), Exe: exe, Args: []string{r.role},
				Env: append(append([]string(nil), common...), r.addrVar+"="+addr), Health: "http://" + addr + "/health",
				Log: &prefixWriter{name: r.role + "-" + strconv.Itoa(i), w: logf}}
			c.procs = append(c.procs, p)
			if r.role == "ingestor" {
				c.ingest = append(c.ingest, "http://"+addr)
			}
		}
	}
	for _, p := range c.procs {
		require.NoError(t, p.Start(ctx, 2*time.Minute), "start %s (log: %s)", p.Name, logf.Name())
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.Stop(20 * time.Second)
		}
	})
	c.bodies = bench.Bodies(64, 10)
	return c
}

// registerNamespace makes sure the chaos workers' Temporal namespace exists
// on the test server: its task queue mutt-ops is then theirs alone.
func registerNamespace(t *testing.T, namespace string) {
	t.Helper()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: testenv.TemporalAddress()})
	require.NoError(t, err, "temporal test server must run (make test starts it)")
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	if _, exists := err.(*serviceerror.NamespaceAlreadyExists); exists {
		err = nil
	}
	require.NoError(t, err)
}

// startSim serves the simulator on its address (again, after stopSim).
func (c *cluster) startSim() {
	c.t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.sim.Run(ctx, c.simAddr) }()
	c.simStop = func() { stop(); <-done }
	require.NoError(c.t, chaos.WaitHealthy(ctx, "http://"+c.simAddr+"/health", 30*time.Second, nil))
}

// stopSim closes the simulator's listener: Moogsoft refuses connections.
func (c *cluster) stopSim() {
	if c.simStop != nil {
		c.simStop()
		c.simStop = nil
	}
}

// role returns the processes of a role.
func (c *cluster) role(name string) []*chaos.Process {
	var out []*chaos.Process
	for _, p := range c.procs {
		if strings.HasPrefix(p.Name, name+"-") {
			out = append(out, p)
		}
	}
	return out
}

func (c *cluster) dlqs() []string { return []string{c.keys.AlerterDLQ(), c.keys.MoogDLQ()} }

// unhandled reports whether a bench event matches no rule: the bench's
// heartbeats (bench.Bodies).
func unhandled(ev json.RawMessage) bool {
	var e struct {
		Message string `json:"message"`
	}
	return json.Unmarshal(ev, &e) == nil && strings.HasPrefix(e.Message, "heartbeat ok")
}

// prefixWriter prefixes every write (a log line, usually) with the process name.
type prefixWriter struct {
	name string
	w    *os.File
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "[%s] %s", p.name, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
