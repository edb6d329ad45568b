package test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workers"
	"github.com/mutt-ops/mutt/workflows"
)

// TestReadmeDocumentsEveryDynamicKey keeps the README's dynamic config table in
// step with the registry.
func TestReadmeDocumentsEveryDynamicKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, k := range dynconfig.Keys() {
		require.Contains(t, string(readme), "| `"+k.Name+"`", "README configuration table lacks %s", k.Name)
	}
}

// TestReadmeMatchesDevBanner keeps the README's first steps (`make run`, the
// curl examples) in step with what `mutt dev` prints on a machine without
// settings: every local URL and port the README gives is printed, and so are
// the ingest and admin keys, the admin key next to the API and the web UI.
func TestReadmeMatchesDevBanner(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(raw)
	start, end := strings.Index(readme, "## The two commands"), strings.Index(readme, "## Architecture")
	require.True(t, start >= 0 && end > start, "README lacks its first-steps section")
	steps := readme[start:end]

	e := config.FromMap(map[string]string{})
	cfg, err := app.ReadConfig(e, true, app.AllRoles)
	require.NoError(t, err)
	// What setup stores in a fresh machine's secrets provider
	// (app's TestDevKeysLiveInTheProvider checks it does).
	keys := secrets.StaticCache(map[string]string{secrets.IngestAPIKey: app.DevIngestKey, secrets.WebUIAPIKey: app.DevAPIAdminKey})
	var b strings.Builder
	app.Banner(&b, cfg, keys, "http://127.0.0.1:8233", "http://127.0.0.1:9090")
	banner := b.String()

	urls := regexp.MustCompile(`http://127\.0\.0\.1:\d+[^\s,;)'"]*`).FindAllString(steps, -1)
	require.Contains(t, urls, "http://127.0.0.1:8090/ui/", "the README gives the web UI's URL")
	for _, u := range urls {
		require.Contains(t, banner, u, "the README promises %s; mutt dev does not print it", u)
	}
	// "ingestor (:8080)", "(:8090, …": the ports of what mutt dev runs.
	ports := regexp.MustCompile(`\(:(\d+)`).FindAllStringSubmatch(steps, -1)
	require.NotEmpty(t, ports)
	for _, p := range ports {
		require.Contains(t, banner, "127.0.0.1:"+p[1]+"/", "the README names port %s; mutt dev does not use it", p[1])
	}

	require.Contains(t, steps, "X-API-KEY: "+app.DevIngestKey, "the README's curl uses the dev ingest key")
	require.Contains(t, banner, "X-API-KEY: "+app.DevIngestKey)
	require.Contains(t, steps, "key "+app.DevAPIAdminKey, "the README gives the dev admin key for the API and UI")
	require.Regexp(t, `admin API\s+http://127\.0\.0\.1:8090/api/v2/version\s+\(X-API-KEY: `+
		regexp.QuoteMeta(app.DevAPIAdminKey)+`\)`, banner)
	require.Regexp(t, `web UI\s+http://127\.0\.0\.1:8090/ui/\s`, banner)

	// Every schedule mutt dev applies is named, the rotations included.
	wcfg := workers.ReadConfig(e)
	for _, sc := range workers.Schedules("", workflows.TaskQueue, wcfg.Retention, wcfg.RotationEnabled) {
		require.Contains(t, banner, sc.ID, "the banner lists the schedule %s", sc.ID)
	}

	ref, err := os.ReadFile("../docs/API_REFERENCE.md")
	require.NoError(t, err)
	require.Contains(t, string(ref), "`mutt dev` uses the admin key `"+app.DevAPIAdminKey+"`")
}
