// Package procstat reads what MUTT's benchmark and harnesses need of Linux's
// /proc/<pid>/stat: a process's command name, state and CPU time.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tick is the unit of the CPU times in /proc (USER_HZ): 1/100 s on every
// Linux architecture Go supports, and not readable without cgo.
const tick = 10 * time.Millisecond

// Stat is one process's line of /proc/<pid>/stat, the fields MUTT reads.
type Stat struct {
	Comm  string        // command name
	State byte          // R, S, D, Z (zombie), X (dead), …
	CPU   time.Duration // user + system time so far
}

// Read reads pid's stat.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	return parse(b)
}

// Each calls fn with the stat of every process it can read.
func Each(fn func(pid int, s Stat)) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if s, err := Read(pid); err == nil {
			fn(pid, s)
		}
	}
}

// parse reads "pid (comm) state ppid …": comm may hold spaces and
// parentheses, so the fields are counted from the last ')'; utime and stime
// are the 12th and 13th after the state.
func parse(b []byte) (Stat, error) {
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("/proc stat line without (comm): %q", b)
	}
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 13 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("/proc stat line too short: %q", b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return Stat{}, fmt.Errorf("/proc stat line with bad CPU times: %q", b)
	}
	return Stat{Comm: string(b[open+1 : closing]), State: f[0][0], CPU: time.Duration(ut+st) * tick}, nil
}
