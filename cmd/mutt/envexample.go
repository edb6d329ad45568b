package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/workers"
)

// settings returns every environment variable the services read, with its
// default, by running their configuration readers on an empty environment
// (with the Vault provider chosen, so its variables are read too), followed
// by those only `mutt dev` reads (MUTT_DEV_*, with their dev defaults).
func settings() []config.Var {
	out := readSettings(false)
	seen := make(map[string]bool, len(out))
	for _, v := range out {
		seen[v.Name] = true
	}
	for _, v := range readSettings(true) {
		if !seen[v.Name] {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b config.Var) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// devSettings returns the variables `mutt dev` reads, with its defaults.
func devSettings() []config.Var { return readSettings(true) }

func readSettings(dev bool) []config.Var {
	e := config.FromMap(map[string]string{"MUTT_SECRETS_PROVIDER": "vault"})
	_, _ = app.ReadConfig(e, dev, append(append([]app.Role{}, app.AllRoles...), app.Worker))
	_ = workers.ReadConfig(e)
	return e.Vars()
}

// defaults maps each variable to its default.
func defaults(vars []config.Var) map[string]string {
	out := make(map[string]string, len(vars))
	for _, v := range vars {
		out[v.Name] = v.Default
	}
	return out
}

// writeEnvExample prints deploy/mutt.env.example: every setting commented out
// at its default, with its description from settingDocs (README's
// configuration table), the dynamic config seeds of `mutt config init`, and
// what becomes of the Python MUTT's variables.
func writeEnvExample(w io.Writer) {
	docs := docsByName()
	fmt.Fprint(w, `# MUTT settings. GENERATED from the code's configuration readers by
# "go test ./cmd/mutt -run TestEnvExampleIsCurrent -update" (also printed by
# "mutt config env-example"); do not edit by hand. Every variable is shown
# commented out at its default; see README.md "Configuration".

`)
	for _, v := range settings() {
		if d := docs[v.Name]; d != "" {
			fmt.Fprintf(w, "# %s\n", d)
		}
		if len(v.Aliases) > 0 {
			fmt.Fprintf(w, "# (also read as %s)\n", strings.Join(v.Aliases, ", "))
		}
		fmt.Fprintf(w, "#%s=%s\n\n", v.Name, v.Default)
	}
	fmt.Fprint(w, "# --- Dynamic config: `mutt config init` seeds these keys from the environment once;\n# --- afterwards change them with PUT /api/v2/config/<key>.\n\n")
	for _, k := range dynconfig.Keys() {
		for _, env := range k.Env {
			fmt.Fprintf(w, "# %s (dynamic config %s): %s\n#%s=%s\n\n", env, k.Name, k.Description, env, k.Default)
		}
	}
	fmt.Fprint(w, "# --- Python MUTT v2.x variables (docs/MIGRATION_FROM_PYTHON_MUTT.md): a fallback is read,\n# --- with one deprecation warning, when the MUTT variable is unset; a refused one stops the start.\n")
	for _, l := range config.LegacyVariables() {
		what := "refused: " + l.Replacement
		if l.Fallback {
			what = "fallback for " + l.Replacement
		}
		fmt.Fprintf(w, "#   %s: %s\n", l.Name, what)
	}
}
