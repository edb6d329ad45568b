package bench

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/procstat"
)

// Env is a running set of MUTT roles started the way `mutt bench` starts
// them (fresh database, fresh Redis key prefix, free ports, the ingestor,
// alerter, forwarder and the Moogsoft simulator as child processes of the
// mutt binary), for other harnesses that need the same processes and load
// (internal/soak). Close stops the processes and drops the database and keys.
type Env struct{ r *run }

// Process is one child process an Env started.
type Process struct {
	Name string // the role: ingestor, alerter, forwarder, moog-sim, worker
	Pid  int
	// URL serves /health and /metrics of the process.
	URL string
}

// Start starts the roles (see Env). Options.Exe, RedisURL, AdminDatabaseURL,
// Batch, Senders and Out are used; the rest are Run's.
func Start(ctx context.Context, o Options) (*Env, error) {
	r := &run{o: o, apiKey: "bench-ingest-key-0123456789abcdef0123456789", ports: map[string]string{}} // #nosec G101 -- a throwaway key of the processes this harness starts and stops
	if err := r.setup(ctx); err != nil {
		r.teardown()
		return nil, err
	}
	return &Env{r: r}, nil
}

// Close stops every process (SIGTERM, then SIGKILL after 15 s) and drops the
// database and the Redis keys.
func (e *Env) Close() { e.r.teardown() }

// Processes lists the running child processes.
func (e *Env) Processes() []Process {
	urls := map[string]string{"ingestor": e.r.ingest, "moog-sim": e.r.simURL,
		"alerter": "http://127.0.0.1:" + e.r.ports["alerter"], "forwarder": "http://127.0.0.1:" + e.r.ports["forwarder"]}
	out := make([]Process, 0, len(e.r.procs))
	for _, p := range e.r.procs {
		u := urls[p.name]
		if u == "" {
			u = e.r.ports["url:"+p.name]
		}
		out = append(out, Process{Name: p.name, Pid: p.cmd.Process.Pid, URL: u})
	}
	return out
}

// IngestURL is the ingestor's base URL; SimURL the Moogsoft simulator's.
func (e *Env) IngestURL() string { return e.r.ingest }

// SimURL is the Moogsoft simulator's base URL.
func (e *Env) SimURL() string { return e.r.simURL }

// DB is a pool on the run's own database.
func (e *Env) DB() *pgxpool.Pool { return e.r.db }

// DatabaseName is the run's own database.
func (e *Env) DatabaseName() string { return e.r.dbName }

// Redis is a client of the run's Redis.
func (e *Env) Redis() redis.UniversalClient { return e.r.rdb }

// Keys are the run's Redis keys (its own prefix).
func (e *Env) Keys() keyspace.Keys { return e.r.keys }

// LogPath is the file every process logs to.
func (e *Env) LogPath() string { return e.r.logFile.Name() }

// StartRole starts one more process of the mutt binary (e.g. "worker") with
// the roles' environment plus extra, its health and metrics listener on a free
// port named by the variable addrVar (e.g. MUTT_WORKER_ADDR), and waits until
// it is healthy.
func (e *Env) StartRole(ctx context.Context, role, addrVar string, extra ...string) (Process, error) {
	port, err := freePort()
	if err != nil {
		return Process{}, err
	}
	cmd := exec.Command(e.r.o.Exe, role) // #nosec G204 -- our own mutt binary and a role name of the harness
	cmd.Env = append(append(append([]string{}, e.r.env...), addrVar+"=127.0.0.1:"+port), extra...)
	cmd.Stdout, cmd.Stderr = e.r.logFile, e.r.logFile
	if err := cmd.Start(); err != nil {
		return Process{}, fmt.Errorf("start %s: %w", role, err)
	}
	e.r.procs = append(e.r.procs, &proc{name: role, cmd: cmd})
	u := "http://127.0.0.1:" + port
	e.r.ports["url:"+role] = u
	if err := e.r.waitHealthy(ctx, u+"/health"); err != nil {
		return Process{}, err
	}
	return Process{Name: role, Pid: cmd.Process.Pid, URL: u}, nil
}

// Exited reports whether a child process has ended (it is a zombie until
// Close reaps it), with its state line from /proc.
func Exited(pid int) (bool, string) {
	st, err := procstat.Read(pid)
	if err != nil {
		return true, err.Error()
	}
	return st.State == 'Z' || st.State == 'X', string(st.State)
}

// LoadCounters count what Offer sent, in events.
type LoadCounters struct {
	Accepted, Refused, HTTPErrors atomic.Int64
}

// Offer posts the bench's event batches (Options.Batch events per request
// from Options.Senders clients) at rate events/s until ctx ends, counting the
// outcomes in c. A refused request (429/503) is retried by the next ticket
// after a polite 50 ms pause, as the bench's clients do.
func (e *Env) Offer(ctx context.Context, rate int, c *LoadCounters) {
	o := e.r.o
	tickets := make(chan struct{}, o.Senders)
	start := time.Now()
	go func() {
		defer close(tickets)
		interval := time.Duration(float64(time.Second) * float64(o.Batch) / float64(rate))
		for i := 0; ; i++ {
			t := time.NewTimer(time.Until(start.Add(time.Duration(i) * interval)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			select {
			case tickets <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for s := 0; s < o.Senders; s++ {
		wg.Go(func() {
			for i := s; ; i += o.Senders {
				if _, ok := <-tickets; !ok {
					return
				}
				code, err := e.r.post(ctx, e.r.bodies[i%len(e.r.bodies)])
				switch {
				case err != nil:
					if ctx.Err() == nil {
						c.HTTPErrors.Add(int64(o.Batch))
					}
				case code == http.StatusOK:
					c.Accepted.Add(int64(o.Batch))
				default:
					c.Refused.Add(int64(o.Batch))
					select {
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		})
	}
	wg.Wait()
}
