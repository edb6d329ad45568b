package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	muttapp "github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
)

// devInstance is a real `mutt dev` process of this test: own database, key
// prefix, ports, log file, and its own task queue and schedule ids on the
// suite's Temporal dev server.
type devInstance struct {
	env    map[string]string // what muttdev runs with (the process env plus the instance's settings)
	prefix string
	stdout *testenv.LogBuffer
}

func startMuttDev(t *testing.T) *devInstance {
	t.Helper()
	testenv.NeedsServices(t, "a built mutt dev against Redis, PostgreSQL and Temporal")

	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	t.Cleanup(func() { testenv.DropLogins(t, "mutt_"+id, "mutt_app_"+id) })
	prefix := "test:" + id + ":"
	env := environ(os.Environ())
	for k, v := range map[string]string{
		"REDIS_URL":           testenv.RedisURL(),
		"DATABASE_URL":        testenv.DatabaseURL(t),
		"MUTT_REDIS_PREFIX":   prefix,
		"MUTT_INGEST_ADDR":    testenv.FreeAddr(t),
		"MUTT_ALERTER_ADDR":   testenv.FreeAddr(t),
		"MUTT_FORWARDER_ADDR": testenv.FreeAddr(t),
		"MUTT_MOOGSIM_ADDR":   testenv.FreeAddr(t),
		"MUTT_WORKER_ADDR":    testenv.FreeAddr(t),
		"MUTT_API_ADDR":       testenv.FreeAddr(t),
		"MUTT_SNMP_ADDR":      testenv.FreeAddr(t), // not mutt dev's 127.0.0.1:1162: tests run side by side
		"MUTT_LOG_LEVEL":      "info",
		"MUTT_LOG_FORMAT":     "text",
		"MUTT_SECRETS_FILE":   filepath.Join(t.TempDir(), "secrets.json"),
		"MUTT_DEV_LOG_FILE":   filepath.Join(t.TempDir(), "dev.log"),
		"REDIS_USERNAME":      "mutt_" + id,
		"DB_USER":             "mutt_app_" + id,
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(),
		"USER":                "tester",
	} {
		env[k] = v
	}
	for _, k := range []string{"WEBUI_API_KEY", "MUTT_API_KEY", "MUTT_API_URL", "INGEST_API_KEY", "DATABASE_ADMIN_URL", "REDIS_ADMIN_URL"} {
		delete(env, k)
	}
	// Registered before the process's own cleanup, so it runs after mutt dev stopped.
	t.Cleanup(func() {
		// The schedules live on the suite's shared Temporal server: remove this instance's.
		tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress()})
		if err != nil {
			return
		}
		defer tc.Close()
		taskQueue, schedPrefix := muttapp.DevTemporal(prefix)
		for _, s := range workers.Schedules(schedPrefix, taskQueue, workers.RetentionPolicy{}, false) {
			_ = tc.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background())
		}
	})
	dev := testenv.StartMuttDev(t, nil, env)
	d := &devInstance{env: env, prefix: prefix, stdout: dev.Stdout}
	stderr := dev.Stderr
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Contains(c, d.stdout.String(), "MUTT dev is running", "stderr: %s", stderr.String())
		for _, a := range []string{"MUTT_INGEST_ADDR", "MUTT_API_ADDR", "MUTT_WORKER_ADDR"} {
			resp, err := http.Get("http://" + env[a] + "/health")
			if !assert.NoError(c, err) {
				return
			}
			_ = resp.Body.Close()
			assert.Equal(c, http.StatusOK, resp.StatusCode, a)
		}
	}, 90*time.Second, 200*time.Millisecond)
	env["MUTT_API_URL"] = "http://" + env["MUTT_API_ADDR"]
	return d
}

// norm is the normaliser of this instance's volatile values.
func (d *devInstance) norm(volatile ...string) normaliser {
	n := normaliser{volatileKeys: map[string]bool{}}
	for _, k := range volatile {
		n.volatileKeys[k] = true
	}
	for _, k := range []string{"MUTT_INGEST_ADDR", "MUTT_ALERTER_ADDR", "MUTT_FORWARDER_ADDR", "MUTT_MOOGSIM_ADDR",
		"MUTT_WORKER_ADDR", "MUTT_API_ADDR", "MUTT_DEV_LOG_FILE", "MUTT_SECRETS_FILE"} {
		n.literal = append(n.literal, [2]string{d.env[k], "<" + k + ">"})
	}
	n.literal = append(n.literal, [2]string{filepath.Dir(d.env["MUTT_DEV_LOG_FILE"]), "<dev-dir>"})
	n.literal = append(n.literal, [2]string{d.prefix, "<prefix>"},
		[2]string{muttapp.DevInstance(d.prefix), "<instance>"})
	return n
}
