package testenv

import "testing"

// NeedsServices skips the test under `go test -short`, which runs only the
// tests that need no server, browser or external program (`make
// test-short`, seconds). Every helper here that reaches PostgreSQL, Redis,
// Temporal or starts a server process calls it, so a test using one is
// skipped as a whole; tests that need something else (a browser, a
// program like snmptrap or rsyslogd, a `go build` of the binaries) call it
// themselves, naming what they need. The full suite (`make test`) runs
// without -short and skips nothing.
func NeedsServices(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped in -short mode (make test runs it)", what)
	}
}
