package app

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// TestMemoryLimitIsApplied starts processes (this test binary again, as
// `mutt alerter` would start) with various environments and reads the Go
// runtime's memory limit they end up with: the per-role default,
// MUTT_MEMORY_LIMIT, off, and GOMEMLIMIT winning over both.
func TestMemoryLimitIsApplied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   []string
		roles string
		want  int64
	}{
		{"alerter default", nil, "alerter", MemoryLimitPerRole},
		{"three roles", nil, "ingestor,alerter,forwarder", 3 * MemoryLimitPerRole},
		{"api has none", nil, "api", math.MaxInt64},
		{"setting", []string{"MUTT_MEMORY_LIMIT=100MiB"}, "alerter", 100 << 20},
		{"off", []string{"MUTT_MEMORY_LIMIT=off"}, "alerter", math.MaxInt64},
		{"GOMEMLIMIT wins", []string{"GOMEMLIMIT=200MiB", "MUTT_MEMORY_LIMIT=100MiB"}, "alerter", 200 << 20},
		{"GOMEMLIMIT wins over the default", []string{"GOMEMLIMIT=1GiB"}, "alerter", 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0]) // #nosec G204 -- this test binary, as memoryLimitChild (TestMain)
			cmd.Env = append(cleanEnv(), "MUTT_TEST_MEMLIMIT_CHILD="+tc.roles)
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			_, rest, ok := strings.Cut(string(out), "memlimit=")
			require.True(t, ok, string(out))
			got, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// cleanEnv is the environment without the variables under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "MUTT_MEMORY_LIMIT=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestMain runs memoryLimitChild instead of the tests when this binary is
// started by TestMemoryLimitIsApplied: the memory limit is process-wide, so
// each case needs a process of its own.
func TestMain(m *testing.M) {
	if roles := os.Getenv("MUTT_TEST_MEMLIMIT_CHILD"); roles != "" {
		if err := memoryLimitChild(roles); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// memoryLimitChild applies the memory limit for roles as `mutt` does and
// prints the limit in force.
func memoryLimitChild(roles string) error {
	var rs []Role
	for _, r := range strings.Split(roles, ",") {
		rs = append(rs, Role(r))
	}
	cfg, err := ReadConfig(config.FromOS(), false, rs)
	if err != nil {
		return err
	}
	var logs strings.Builder
	got := ApplyMemoryLimit(cfg, telemetry.NewLogger(&logs, "text", "info"))
	if !strings.Contains(logs.String(), "limit") {
		return fmt.Errorf("the start log does not name the limit: %q", logs.String())
	}
	fmt.Printf("memlimit=%d\n", got)
	return nil
}

func TestParseMemoryLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"off": 0, "0": 0, "1024": 1024, "512B": 512, "64KiB": 64 << 10,
		"48MiB": 48 << 20, "2GiB": 2 << 30, "1TiB": 1 << 40} {
		got, err := ParseMemoryLimit(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1", "+5", "48M", "48mb", "1.5GiB", "off ", "99999999TiB", " 4"} {
		_, err := ParseMemoryLimit(in)
		require.Error(t, err, in)
	}
	var e = config.FromMap(map[string]string{"MUTT_MEMORY_LIMIT": "lots"})
	readMemoryLimit(e, false, []Role{Alerter})
	require.ErrorContains(t, e.Err(), "MUTT_MEMORY_LIMIT")
}

func FuzzParseMemoryLimit(f *testing.F) {
	for _, s := range []string{"off", "0", "48MiB", "1TiB", "12B", "-1", "9223372036854775807", "8589934592GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMemoryLimit(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative limit %d", s, n)
		}
		back, err := ParseMemoryLimit(FormatMemoryLimit(n))
		if err != nil || back != n {
			t.Fatalf("%q → %d → %q → %d, %v", s, n, FormatMemoryLimit(n), back, err)
		}
	})
}
