package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// restartLoad posts a batch of 5 events every 20 ms until stopped and keeps
// the event_ids of every 2xx answer and the status of every other one.
type restartLoad struct {
	mu       sync.Mutex
	accepted []string
	okAfter  int // 2xx answers since markRestart
	refused  map[int]int
	errors   int
	stop     context.CancelFunc
	done     chan struct{}
}

func startRestartLoad(addr, key string) *restartLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &restartLoad{refused: map[int]int{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			code, ids, _, err := ingest(addr, key, batch(seq, 5))
			l.mu.Lock()
			switch {
			case err != nil:
				l.errors++
			case code == http.StatusOK:
				l.accepted = append(l.accepted, ids...)
				l.okAfter++
			default:
				l.refused[code]++
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *restartLoad) markRestart() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.okAfter = 0
}

func (l *restartLoad) acceptedSinceRestart() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.okAfter
}

func (l *restartLoad) finish() []string {
	l.stop()
	<-l.done
	return l.accepted
}

// streamEventIDs lists the event_id of every event of the ingest shards (an
// entry may hold several, ADR 0048).
func streamEventIDs(t *testing.T, c redis.UniversalClient, streams []string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, raw := range testenv.Queued(t, c, streams...) {
		var ev struct {
			EventID string `json:"event_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &ev))
		ids[ev.EventID] = true
	}
	return ids
}

// TestIngestRecoversAfterRedisRestart kills -9 a Redis running with AOF
// (appendfsync always) under ingest load and starts it again on the same
// port and directory. ACL users are not in the AOF: with an aclfile (which
// setup saves to) Redis loads them at start; without one the worker's keeper
// re-creates the user from the secrets provider. Either way the ingestor
// recovers by itself, without a restart or a rerun of setup, and every
// event_id it answered 2xx for is in the stream.
func TestIngestRecoversAfterRedisRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		aclFile bool
	}{
		{"aclfile", true},
		{"no aclfile: the worker re-creates the user", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := testenv.StartRedis(t, testenv.RedisServerOptions{AOF: true, ACLFile: tc.aclFile})
			env := devEnv(t)
			env["REDIS_URL"] = "redis://" + srv.Addr + "/0"
			env["REDIS_ADMIN_URL"] = env["REDIS_URL"] // the private server's default user
			env["INGEST_API_KEY"] = "restart-ingest-key-0123456789abcdef"
			env["MUTT_REDIS_USER_CHECK_INTERVAL"] = "500ms"
			cfg, err := app.ReadConfig(config.FromMap(env), false, []app.Role{app.Ingestor})
			require.NoError(t, err)
			var out strings.Builder
			require.NoError(t, app.Setup(ctx, cfg, telemetry.NewLogger(io.Discard, "text", "error"), &out))
			if tc.aclFile {
				require.Contains(t, out.String(), "saved to Redis's aclfile")
			} else {
				require.Contains(t, out.String(), "setup: WARNING: the Redis ACL users live in memory only")
			}

			var logs syncLog
			log := telemetry.NewLogger(&logs, "text", "warn")
			front, err := app.Connect(ctx, cfg, log, []app.Role{app.Ingestor})
			require.NoError(t, err)
			runRoles(t, front, app.Ingestor)
			if !tc.aclFile {
				worker, err := app.Connect(ctx, cfg, log, []app.Role{app.Worker})
				require.NoError(t, err)
				runRoles(t, worker, app.Worker)
			}
			require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 200, getJSON(c, "http://"+cfg.Ingest.Addr+"/health", nil)) },
				10*time.Second, 50*time.Millisecond)

			load := startRestartLoad(cfg.Ingest.Addr, "restart-ingest-key-0123456789abcdef")
			t.Cleanup(func() { load.finish() })
			require.Eventually(t, func() bool { return load.acceptedSinceRestart() >= 10 }, 10*time.Second, 10*time.Millisecond)

			srv.Kill()
			// Requests fail while Redis is down: the ingestor answers 5xx,
			// having accepted nothing.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				load.mu.Lock()
				defer load.mu.Unlock()
				assert.Positive(c, load.refused[http.StatusServiceUnavailable]+load.refused[http.StatusInternalServerError])
			}, 30*time.Second, 10*time.Millisecond)
			root := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
			t.Cleanup(func() { _ = root.Close() })
			srv.Start()
			if !tc.aclFile {
				// The crash took the user with it (what issue 8 saw).
				u, err := secrets.InspectRedisUser(ctx, root, cfg.RedisUsername)
				if err == nil && !u.Exists {
					t.Log("the user was gone after the restart")
				}
			}
			load.markRestart()
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				assert.GreaterOrEqual(c, load.acceptedSinceRestart(), 20, "ingest accepts events again")
			}, 60*time.Second, 20*time.Millisecond)
			accepted := load.finish()

			u, err := secrets.InspectRedisUser(ctx, root, cfg.RedisUsername)
			require.NoError(t, err)
			require.True(t, u.Exists && u.Enabled)
			inStream := streamEventIDs(t, root, front.Keys.IngestStreams())
			var lost []string
			for _, id := range accepted {
				if !inStream[id] {
					lost = append(lost, id)
				}
			}
			require.Empty(t, lost, "every event_id answered 2xx is in the stream (%d accepted)", len(accepted))
			if !tc.aclFile {
				require.Contains(t, logs.String(), "redis ACL user was missing (Redis restarted without its ACL users?): re-created it")
			}
			load.mu.Lock()
			t.Logf("%d events accepted, refused answers by status %v, transport errors %d; log lines: %d",
				len(accepted), load.refused, load.errors, strings.Count(logs.String(), "\n"))
			load.mu.Unlock()
		})
	}
}

// runRoles runs d's roles until the test ends.
func runRoles(t *testing.T, d *app.Deps, roles ...app.Role) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, d, roles) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		d.Close()
	})
}

// syncLog is a log destination safe for several goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
