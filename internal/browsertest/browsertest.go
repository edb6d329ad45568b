// Package browsertest starts the headless Chromium of the suite's browser
// tests (the web UI in api, the console end to end in test). It is a
// package of its own, not part of testenv, so that chromedp stays out of
// everything that imports testenv. Imported only by tests.
package browsertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// Chromium is the browser the tests drive (Debian's chromium package).
const Chromium = "/usr/bin/chromium"

// New starts headless Chromium with a throwaway profile and a window of
// width×height, stopped when t ends. Each chromedp.NewContext of the
// returned context is a tab with its own sessionStorage (so its own
// login). A missing browser fails the test (it is part of `make test`);
// -short skips it.
func New(t *testing.T, width, height int) context.Context {
	t.Helper()
	testenv.NeedsServices(t, "Chromium")
	_, err := os.Stat(Chromium)
	require.NoError(t, err, "the browser tests need %s: install the Debian package chromium "+
		"(apt-get install --no-install-recommends chromium, or scripts/ensure-services.sh --test)", Chromium)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // generous: the tests share a loaded machine
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(Chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	return bctx
}
