package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// testKinds are the selections of `muttdev test`.
var testKinds = []string{"unit", "integration", "e2e", "all"}

// testenvPkg marks a package whose tests need the real services.
const testenvPkg = "github.com/mutt-ops/mutt/internal/testenv"

func newTestCmd(a *app) *cobra.Command {
	var runRE, timeout string
	var dry bool
	var count int
	cmd := &cobra.Command{
		Use:   "test [unit|integration|e2e|all] [-- GO_TEST_ARGS...]",
		Short: "Run the tests: unit (no services), integration (real Redis/PostgreSQL/Temporal), e2e (test/)",
		Long: `test runs go test on a selection of packages:
  unit         packages whose tests do not use internal/testenv: no service needed
  integration  packages whose tests use internal/testenv (real Redis, PostgreSQL, Temporal), except test/
  e2e          test/: whole processes (mutt dev, compose checks, crash and rotation tests)
  all          every package (default), like make test without the fuzz runs
The selection is computed from the imports of each package's tests, so new packages are placed
automatically. Arguments after -- go to go test. Integration and e2e need the services:
run muttdev setup (and scripts/ensure-temporal.sh --test-server) first.`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(c *cobra.Command, args []string) error {
			kind := "all"
			if n := c.ArgsLenAtDash(); len(args) > 0 && (n == -1 || n > 0) {
				kind = args[0]
			}
			var extra []string
			if n := c.ArgsLenAtDash(); n >= 0 {
				extra = args[n:]
			}
			if !slices.Contains(testKinds, kind) {
				return usageErr("unknown test selection %q (want one of %s)", kind, strings.Join(testKinds, ", "))
			}
			pkgs, err := a.testPackages(c, kind)
			if err != nil {
				return err
			}
			argv := []string{"test", "-count", fmt.Sprint(count), "-timeout", timeout}
			if runRE != "" {
				argv = append(argv, "-run", runRE)
			}
			argv = append(argv, extra...)
			argv = append(argv, pkgs...)
			if dry {
				return a.emit(map[string]any{"selection": kind, "command": append([]string{"go"}, argv...), "packages": pkgs},
					func(w io.Writer) error {
						_, err := fmt.Fprintf(w, "go %s\n", strings.Join(argv, " "))
						return err
					})
			}
			if len(pkgs) == 0 {
				return fmt.Errorf("no %s test packages found", kind)
			}
			gobin, err := a.lookPath("go")
			if err != nil {
				return err
			}
			root, err := a.moduleRoot(c, gobin)
			if err != nil {
				return err
			}
			return a.execToolIn(c.Context(), root, "go", argv...)
		}),
	}
	cmd.Flags().StringVar(&runRE, "run", "", "only tests matching this regexp (go test -run)")
	cmd.Flags().StringVar(&timeout, "timeout", "15m", "go test -timeout")
	cmd.Flags().IntVar(&count, "count", 1, "go test -count (1 disables the test cache)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the go test command; run nothing")
	cmd.Args = func(c *cobra.Command, args []string) error {
		if n := c.ArgsLenAtDash(); n > 1 || (n == -1 && len(args) > 1) {
			return usageErr("test takes one selection (%s), then -- and go test arguments", strings.Join(testKinds, ", "))
		}
		return nil
	}
	return cmd
}

// testPackages lists the packages of a selection with `go list`.
func (a *app) testPackages(c *cobra.Command, kind string) ([]string, error) {
	gobin, err := a.lookPath("go")
	if err != nil {
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("go is not installed (not on PATH)")}
	}
	root, err := a.moduleRoot(c, gobin)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(c.Context(), gobin, "list", "-f", // #nosec G204 -- the go command of this toolchain with fixed arguments
		`{{.ImportPath}} {{len .TestGoFiles}}{{len .XTestGoFiles}} {{join .TestImports ","}},{{join .XTestImports ","}}`, "./...")
	cmd.Env, cmd.Dir = a.environ(), root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./...: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] == "00" {
			continue // no tests
		}
		imports := ""
		if len(f) > 2 {
			imports = f[2]
		}
		e2e := strings.HasSuffix(f[0], "/mutt/test")
		services := slices.Contains(strings.Split(imports, ","), testenvPkg)
		switch {
		case kind == "all",
			kind == "e2e" && e2e,
			kind == "integration" && services && !e2e,
			kind == "unit" && !services && !e2e:
			pkgs = append(pkgs, f[0])
		}
	}
	return pkgs, nil
}

// moduleRoot is the directory of the main module, where go test runs.
func (a *app) moduleRoot(c *cobra.Command, gobin string) (string, error) {
	cmd := exec.CommandContext(c.Context(), gobin, "list", "-m", "-f", "{{.Dir}}")
	cmd.Env = a.environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find the MUTT module (run muttdev test inside the checkout): %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
