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

// TestComposeFileIsLeastPrivilege checks what each compose service is handed:
// the admin connections only where they are needed (migrate, setup, worker),
// Vault's root token to no MUTT service, and every published port bound to
// the loopback interface (Vault's dev server and the root token behind it
// among them).
func TestComposeFileIsLeastPrivilege(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc)) // resolves the anchors and merge keys
	admins := map[string]bool{"migrate": true, "setup": true, "worker": true}
	for name, svc := range doc.Services {
		for _, p := range svc.Ports {
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %q on every interface", name, p)
		}
		if svc.Image != "mutt:local" {
			continue
		}
		for _, k := range []string{"REDIS_ADMIN_URL", "DATABASE_ADMIN_URL"} {
			_, has := svc.Environment[k]
			require.Equal(t, admins[name], has, "%s: %s set=%v", name, k, has)
		}
		require.NotContains(t, svc.Environment, "VAULT_TOKEN", "%s gets a Vault token in its environment", name)
		for k, v := range svc.Environment {
			require.NotContains(t, v, "root-token", "%s: %s", name, k)
		}
		if !admins[name] && svc.Environment["MUTT_SECRETS_PROVIDER"] == "vault" {
			require.Equal(t, "/run/vault/service-token", svc.Environment["VAULT_TOKEN_FILE"], name)
		}
		for _, k := range []string{"INGEST_API_KEY", "WEBUI_API_KEY", "WEBUI_READONLY_API_KEY"} {
			if v, ok := svc.Environment[k]; ok {
				require.GreaterOrEqual(t, len(v), 32, "%s: %s is shorter than the 32 bytes outside mutt dev", name, k)
			}
		}
	}
	require.Contains(t, doc.Services, "vault-init")
}
