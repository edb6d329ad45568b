package testlint_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testlint"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// No Eventually or Never condition anywhere in the module fails the test
// itself (see the package documentation for why).
func TestNoTestFailureInsideWaitConditions(t *testing.T) {
	root := moduleRoot(t)
	findings, err := testlint.CheckDir(root)
	require.NoError(t, err)
	for _, f := range findings {
		t.Error(f)
	}
}

// The checker finds each way a condition can fail its test, and leaves
// conditions that fail into their collect T alone.
func TestCheckerFindsFailuresInsideConditions(t *testing.T) {
	const header = `package x_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	req "github.com/stretchr/testify/require"
)

type env struct{ t testing.TB }

func (e *env) get() int { req.NoError(e.t, nil); return 1 }

func (e *env) pure() int { return 1 }

func status(t testing.TB) int { req.True(t, true); return 1 }

func statusVia(t testing.TB) int { return status(t) }

func check(c *assert.CollectT) { req.NoError(c, nil) }

func ok() bool { return true }
`
	cases := []struct {
		name, body string
		want       []string // substrings of the findings, in order
	}{
		{"require in Eventually", `req.Eventually(t, func() bool { req.NoError(t, nil); return true }, time.Second, time.Millisecond)`,
			[]string{"req.NoError inside a Eventually condition"}},
		{"require on the collect T", `req.EventuallyWithT(t, func(c *assert.CollectT) { req.NoError(c, nil) }, time.Second, time.Millisecond)`,
			[]string{"req.NoError inside a EventuallyWithT condition"}},
		{"Fatal on the test's t", `assert.Never(t, func() bool { t.Fatal("x"); return false }, time.Second, time.Millisecond)`,
			[]string{"Fatal on the test's handle inside a Never condition"}},
		{"assert on the test's t", `assert.Eventually(t, func() bool { return assert.True(t, ok()) }, time.Second, time.Millisecond)`,
			[]string{"passing the test's handle to assert.True"}},
		{"assertions object", `a := assert.New(t); assert.Eventually(t, func() bool { return a.True(ok()) }, time.Second, time.Millisecond)`,
			[]string{"True on the test's handle"}},
		{"helper keeping t", `e := &env{t: t}; req.Eventually(t, func() bool { return e.get() == 1 }, time.Second, time.Millisecond)`,
			[]string{"method get (which calls req.NoError)"}},
		{"helper given t, transitively", `req.Eventually(t, func() bool { return statusVia(t) == 1 }, time.Second, time.Millisecond)`,
			[]string{"statusVia (which calls status)"}},
		{"condition in a variable", `cond := func() bool { t.FailNow(); return true }; req.Eventually(t, cond, time.Second, time.Millisecond)`,
			[]string{"FailNow on the test's handle"}},
		{"method form", `r := req.New(t); r.Eventually(func() bool { r.NoError(nil); return true }, time.Second, time.Millisecond)`,
			[]string{"NoError on the test's handle"}},
		{"fine: assert on the collect T", `req.EventuallyWithT(t, func(c *assert.CollectT) { assert.True(c, ok()); check(c); t.Logf("tick") }, time.Second, time.Millisecond)`,
			nil},
		{"fine: pure helpers", `e := &env{t: t}; req.Eventually(t, func() bool { return ok() && e.pure() == 1 }, time.Second, time.Millisecond)`,
			nil},
		{"fine: require outside the condition", `req.NoError(t, nil); req.Eventually(t, ok, time.Second, time.Millisecond); t.Fatal("x")`,
			nil},
		{"fine: shadowed t", `req.EventuallyWithT(t, func(t *assert.CollectT) { assert.True(t, ok()) }, time.Second, time.Millisecond)`,
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := header + "\nfunc TestX(t *testing.T) {\n\t" + tc.body + "\n}\n"
			findings, err := testlint.CheckSource("x_test.go", src)
			require.NoError(t, err)
			var got []string
			for _, f := range findings {
				got = append(got, f.Message)
			}
			require.Len(t, got, len(tc.want), "%q", got)
			for i, w := range tc.want {
				require.Contains(t, got[i], w)
			}
		})
	}
}

// No gate or throttle of the hot path, the streams or the rate limiter reads
// the wall clock as integers: a jump of the system clock on one replica
// must not hold or release them (ADR 0045).
func TestHotPathGatesReadTheMonotonicClock(t *testing.T) {
	root := moduleRoot(t)
	dirs, err := filepath.Glob(filepath.Join(root, "hotpath", "*"))
	require.NoError(t, err)
	dirs = append(dirs, filepath.Join(root, "internal", "stream"), filepath.Join(root, "internal", "ratelimit"))
	for _, dir := range dirs {
		findings, err := testlint.WallClockIntegers(dir)
		require.NoError(t, err)
		for _, f := range findings {
			t.Error(f)
		}
	}
	found, err := testlint.WallClockIntegers(t.TempDir())
	require.NoError(t, err)
	require.Empty(t, found)
}

// The clock check finds a gate on wall-clock integers and leaves time.Time
// comparisons and record timestamps alone.
func TestWallClockIntegersFindsGates(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import "time"

var last int64
var start = time.Now()

func gate() bool { return time.Now().UnixNano() < last }
func gateUTC() bool { return time.Now().UTC().Unix() < last }
func ok(t time.Time) bool { return time.Since(start) > time.Second && t.Before(time.Now()) }
func record(t time.Time) int64 { return t.UnixMilli() }
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_test.go"), []byte("package x\n\nimport \"time\"\n\nvar _ = time.Now().Unix()\n"), 0o600))
	found, err := testlint.WallClockIntegers(dir)
	require.NoError(t, err)
	require.Len(t, found, 2, "%v", found)
	require.Equal(t, 8, found[0].Pos.Line)
	require.Equal(t, 9, found[1].Pos.Line)
}
