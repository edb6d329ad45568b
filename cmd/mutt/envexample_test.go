package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
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
