package app_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// With MUTT_PPROF on, the moog-sim role serves /debug/pprof/ next to the
// webhook, as every other role does, so `muttdev bench --profile` can
// profile it.
func TestMoogSimRoleServesPprofWhenAsked(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		addr := testenv.FreeAddr(t)
		env := map[string]string{"MUTT_MOOGSIM_ADDR": addr, "MUTT_PPROF": strconv.FormatBool(on)}
		roles := []app.Role{app.MoogSim}
		cfg, err := app.ReadConfig(config.FromMap(env), true, roles)
		require.NoError(t, err)
		d, err := app.Connect(context.Background(), cfg, telemetry.NewLogger(io.Discard, "text", "error"), roles)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx, d, roles) }()
		t.Cleanup(func() { cancel(); require.NoError(t, <-done); d.Close() })

		status := func(path string) int {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				return 0
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode
		}
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Equal(c, http.StatusOK, status("/health"))
		}, 10*time.Second, 50*time.Millisecond)
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		require.Equal(t, want, status("/debug/pprof/"), "MUTT_PPROF=%v", on)
	}
}
