package test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestComposeFileIsConsistent checks docker-compose.yml statically (no Docker
// engine runs here): every mutt service runs a real subcommand, every
// variable it sets is documented in the README, and every dependency exists.
func TestComposeFileIsConsistent(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Command     []string       `yaml:"command"`
			Environment map[string]any `yaml:"environment"`
			DependsOn   map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	usage, err := os.ReadFile("../cmd/mutt/main.go")
	require.NoError(t, err)
	envName := regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	for name, svc := range doc.Services {
		for dep := range svc.DependsOn {
			require.Contains(t, doc.Services, dep, "%s depends on unknown service %s", name, dep)
		}
		if svc.Image != "mutt:local" {
			continue
		}
		require.NotEmpty(t, svc.Command, name)
		require.Contains(t, string(usage), `"`+svc.Command[0]+`"`, "%s runs unknown subcommand %q", name, svc.Command[0])
		for k := range svc.Environment {
			if k == "<<" {
				continue
			}
			require.Regexp(t, envName, k)
			require.True(t, strings.Contains(string(readme), "`"+k+"`"), "%s sets %s, which the README does not document", name, k)
		}
	}
}
