package main

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

var update = flag.Bool("update", false, "rewrite deploy/mutt.env.example")

// readmeDocs reads the descriptions of README's configuration table.
func readmeDocs(t *testing.T) map[string]string {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\| [^|]* \\| (.*) \\|$")
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestEnvExampleIsCurrent keeps deploy/mutt.env.example generated from the
// code: a variable added, renamed or with a new default fails here until the
// file is regenerated with -update.
func TestEnvExampleIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	writeEnvExample(&buf, readmeDocs(t))
	const path = "../../deploy/mutt.env.example"
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, buf.String(), string(have), "run: go test ./cmd/mutt -run TestEnvExampleIsCurrent -update")
	for _, name := range []string{"REDIS_URL", "DATABASE_URL", "MUTT_INGEST_ADDR", "VAULT_SECRETS_PATH", "MUTT_WORKER_ADDR"} {
		require.Contains(t, buf.String(), "\n#"+name+"=", name)
	}
}

// TestMigrationGuideListsEveryPythonVariable keeps the guide's settings table
// in step with internal/config's list.
func TestMigrationGuideListsEveryPythonVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/MIGRATION_FROM_PYTHON_MUTT.md")
	require.NoError(t, err)
	for _, l := range config.LegacyVariables() {
		require.Contains(t, string(b), "| `"+l.Name+"` |", l.Name)
	}
}

// TestMigrationGuideMetricsExist keeps the guide's metrics table honest:
// every Python metric name it says MUTT emits (same, alias, emitted) is
// registered by some non-test Go file; the packages' own tests scrape each
// (the table's last column names them).
func TestMigrationGuideMetricsExist(t *testing.T) {
	b, err := os.ReadFile("../../docs/MIGRATION_FROM_PYTHON_MUTT.md")
	require.NoError(t, err)
	doc := string(b)
	start := strings.Index(doc, "| Python metric (labels) | in MUTT | scraped by |")
	require.GreaterOrEqual(t, start, 0, "the metrics table")
	table := doc[start:]
	table = table[:strings.Index(table, "\n\n")]
	var source strings.Builder
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path) // #nosec G304 -- the repository's own files
		source.Write(src)
		return err
	}))
	name := regexp.MustCompile("`(mutt_[a-z0-9_]+)")
	checked := 0
	for _, row := range strings.Split(table, "\n")[2:] {
		cols := strings.Split(row, " | ")
		require.GreaterOrEqual(t, len(cols), 3, row)
		if strings.HasPrefix(cols[1], "none") {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cols[0], -1) {
			require.Contains(t, source.String(), `"`+m[1]+`"`, "%s is in the guide as emitted but registered nowhere", m[1])
			checked++
		}
	}
	require.Greater(t, checked, 40)
}
