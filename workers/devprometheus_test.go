package workers_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/deploy"
	"github.com/mutt-ops/mutt/internal/testenv"
	"github.com/mutt-ops/mutt/workers"
)

func devPromOptions(t *testing.T, bin string) workers.DevPrometheusOptions {
	rules, err := fs.Sub(deploy.PrometheusRules, "prometheus/rules")
	require.NoError(t, err)
	return workers.DevPrometheusOptions{Binary: bin, Addr: testenv.FreeAddr(t), Dir: filepath.Join(t.TempDir(), "prom"),
		ScrapeInterval: time.Second, Retention: 24 * time.Hour, Rules: rules,
		Targets: []workers.ScrapeTarget{{Job: "mutt-ingestor", Addr: "127.0.0.1:8080", Samples: true},
			{Job: "mutt-api", Addr: "127.0.0.1:8090", HTTPS: true}}}
}

// TestDevPrometheusMissing: without the binary, mutt dev gets an error it
// can tell apart (and runs on without Prometheus).
func TestDevPrometheusMissing(t *testing.T) {
	t.Parallel()
	_, err := workers.StartDevPrometheus(context.Background(), devPromOptions(t, filepath.Join(t.TempDir(), "prometheus")),
		slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, workers.ErrPrometheusNotInstalled)
	require.ErrorContains(t, err, "apt-get install")
}

// TestDevPrometheusConfigIsValid starts the dev Prometheus and checks the
// configuration it wrote with promtool (the rules included); Stop ends it.
func TestDevPrometheusConfigIsValid(t *testing.T) {
	t.Parallel()
	testenv.NeedsServices(t, "promtool")
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool is needed: apt-get install -y --no-install-recommends prometheus")
	o := devPromOptions(t, "prometheus")
	p, err := workers.StartDevPrometheus(context.Background(), o, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, "http://"+o.Addr, p.URL)
	out, err := exec.Command(promtool, "check", "config", filepath.Join(o.Dir, "prometheus.yml")).CombinedOutput() // #nosec G204 -- promtool on the test's own file
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "SUCCESS: 3 rule files found")
	raw, err := os.ReadFile(filepath.Join(o.Dir, "prometheus.yml"))
	require.NoError(t, err)
	require.Contains(t, string(raw), "insecure_skip_verify: true", "an HTTPS role is scraped over TLS")
	p.Stop()
	_, err = os.Stat(filepath.Join(o.Dir, "data"))
	require.NoError(t, err, "the TSDB lives in the data directory")
}
