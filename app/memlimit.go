package app

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/mutt-ops/mutt/internal/config"
)

// MemoryLimitPerRole is the default soft memory limit of the Go runtime
// (runtime/debug.SetMemoryLimit) for each hot-path role (ingestor, alerter,
// forwarder) a process runs, when neither GOMEMLIMIT nor MUTT_MEMORY_LIMIT
// says otherwise (ADR 0039). It bounds what the Go runtime manages (heap,
// stacks, its own metadata), not the binary's mapped code, which is about
// half of a role's resident set: near it the GC runs earlier instead of
// letting the heap double (GOGC=100) between cycles. It is soft: a live
// heap above it is never refused, the GC then spends at most half the CPU.
const MemoryLimitPerRole = 24 << 20

// defaultMemoryLimit is MemoryLimitPerRole for each hot-path role of a
// production process; 0 (none) for `mutt dev` and for processes without a
// hot-path role (api, worker, moog-sim).
func defaultMemoryLimit(dev bool, roles []Role) int64 {
	if dev {
		return 0
	}
	var n int64
	for _, r := range roles {
		if r == Ingestor || r == Alerter || r == Forwarder {
			n++
		}
	}
	return n * MemoryLimitPerRole
}

// readMemoryLimit reads MUTT_MEMORY_LIMIT: "off" (or 0) for no limit, else a
// size in GOMEMLIMIT's syntax; unset, the default for the roles.
func readMemoryLimit(e *config.Env, dev bool, roles []Role) int64 {
	def := defaultMemoryLimit(dev, roles)
	v := e.String("", "MUTT_MEMORY_LIMIT")
	if v == "" {
		return def
	}
	n, err := ParseMemoryLimit(v)
	if err != nil {
		e.Fail("MUTT_MEMORY_LIMIT", "%v", err)
		return def
	}
	return n
}

var units = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// ParseMemoryLimit reads a memory limit as GOMEMLIMIT does: a number of
// bytes with an optional unit B, KiB, MiB, GiB or TiB ("48MiB"); "off" or 0
// is no limit (0 returned).
func ParseMemoryLimit(s string) (int64, error) {
	if s == "off" {
		return 0, nil
	}
	num, shift := s, uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = rest, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || num == "" || num[0] == '+' || n < 0 {
		return 0, fmt.Errorf("%q is not a size such as 128MiB (units B, KiB, MiB, GiB, TiB) or off", s)
	}
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n << shift, nil
}

// FormatMemoryLimit writes a limit as ParseMemoryLimit reads it, in the
// largest unit that divides it ("off" for 0).
func FormatMemoryLimit(n int64) string {
	if n <= 0 {
		return "off"
	}
	for _, u := range units {
		if n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// errGOMEMLIMIT: the runtime already applied the operator's GOMEMLIMIT.
var errGOMEMLIMIT = errors.New("GOMEMLIMIT is set")

// ApplyMemoryLimit sets the Go runtime's soft memory limit to
// cfg.MemoryLimit, unless the environment has GOMEMLIMIT (the runtime has
// applied that one at start, and it wins) or the limit is 0. It logs the
// limit in force and returns it (math.MaxInt64: none).
func ApplyMemoryLimit(cfg Config, log *slog.Logger) int64 {
	err := applyMemoryLimit(cfg.MemoryLimit, os.Getenv("GOMEMLIMIT"))
	cur := debug.SetMemoryLimit(-1)
	switch {
	case errors.Is(err, errGOMEMLIMIT):
		log.Info("memory limit from GOMEMLIMIT (MUTT_MEMORY_LIMIT not applied)", "limit", FormatMemoryLimit(cur))
	case cur == math.MaxInt64:
		log.Info("no memory limit (MUTT_MEMORY_LIMIT=off)")
	default:
		log.Info("soft memory limit of the Go runtime", "limit", FormatMemoryLimit(cur), "setting", "MUTT_MEMORY_LIMIT")
	}
	return cur
}

func applyMemoryLimit(limit int64, gomemlimit string) error {
	if gomemlimit != "" {
		return errGOMEMLIMIT
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return nil
}
