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

var update = flag.Bool("update", false, "rewrite deploy/mutt.env.example and README's generated tables")

// TestEnvExampleIsCurrent keeps deploy/mutt.env.example generated from the
// code: a variable added, renamed or with a new default fails here until the
// file is regenerated with -update.
func TestEnvExampleIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	writeEnvExample(&buf)
	const path = "../../deploy/mutt.env.example"
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, buf.String(), string(have), "run: go test ./cmd/mutt -run TestEnvExampleIsCurrent -update")
	for _, name := range []string{"REDIS_URL", "DATABASE_URL", "MUTT_INGEST_ADDR", "VAULT_SECRETS_PATH", "MUTT_WORKER_ADDR",
		"MUTT_DEV_LOG_FILE", "MUTT_DEV_PROMETHEUS_ADDR"} {
		require.Contains(t, buf.String(), "\n#"+name+"=", name)
	}
}

// replaceBetween returns s with the text between the lines begin and end
// replaced by body.
func replaceBetween(t *testing.T, s, begin, end, body string) string {
	t.Helper()
	i, j := strings.Index(s, begin+"\n"), strings.Index(s, "\n"+end)
	require.True(t, i >= 0 && j > i, "README.md lacks the markers %q … %q", begin, end)
	return s[:i+len(begin)+1] + body + s[j+1:]
}

// TestConfigTablesAreCurrent keeps README's configuration tables generated
// from the code: the variables from settingDocs with the defaults the
// configuration readers use, the dynamic keys from internal/dynconfig. Every
// variable the services read must have a row, and every row must name
// variables the code reads. -update rewrites the tables.
func TestConfigTablesAreCurrent(t *testing.T) {
	documented := map[string]int{}
	for _, d := range settingDocs {
		require.NotEmpty(t, d.Meaning, d.Names)
		for _, n := range d.Names {
			documented[n]++
		}
	}
	read := map[string]bool{}
	for _, v := range settings() {
		read[v.Name] = true
		require.Equal(t, 1, documented[v.Name], "%s is read by the code: give it one row in settingDocs (cmd/mutt/settingsdoc.go)", v.Name)
	}
	src := goSources(t)
	for n := range documented {
		require.True(t, read[n] || strings.Contains(src, `"`+n+`"`), "settingDocs documents %s, which no code reads", n)
	}

	var settingsTable, dynamicTable bytes.Buffer
	writeSettingsTable(&settingsTable)
	writeDynamicTable(&dynamicTable)
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	want := replaceBetween(t, string(raw), settingsTableBegin, settingsTableEnd, settingsTable.String())
	want = replaceBetween(t, want, dynamicTableBegin, dynamicTableEnd, dynamicTable.String())
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		raw = []byte(want)
	}
	require.Equal(t, want, string(raw), "run: go test ./cmd/mutt -run TestConfigTablesAreCurrent -update")
}

// goSources is the text of every non-test Go file of the module (the
// settings other tools read, such as muttdev's, are found there).
func goSources(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.WalkDir("../..", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (strings.HasPrefix(e.Name(), ".") && p != "../.." || e.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") && !strings.HasSuffix(p, "settingsdoc.go") {
			raw, err := os.ReadFile(p) // #nosec G304 -- the module's own sources
			if err != nil {
				return err
			}
			b.Write(raw)
		}
		return nil
	}))
	return b.String()
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
