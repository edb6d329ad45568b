package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// clockTicks is the unit of the CPU times in /proc (USER_HZ): 100 on every
// Linux architecture Go supports, and not readable without cgo.
const clockTicks = 100

// CPUShare is the CPU time one component of the machine used during a phase.
type CPUShare struct {
	Name          string
	Seconds       float64 // user + system
	PerEventMicro float64 // Seconds per accepted event, in µs
}

// cpuSample is a snapshot of CPU time, in ticks, per component.
type cpuSample struct {
	byName map[string]uint64
	busy   uint64 // the whole machine, all CPUs
	total  uint64
}

// sampleCPU reads the CPU time of each role (by pid), of this process (the
// load generator), of every PostgreSQL and Redis server process on the
// machine (by command name: a private test server counts too, so run the
// bench alone), of everything else, and of the machine as a whole.
func (r *run) sampleCPU() cpuSample {
	s := cpuSample{byName: map[string]uint64{}}
	roles := map[int]string{os.Getpid(): "load generator"}
	for _, p := range r.procs {
		roles[p.cmd.Process.Pid] = p.name
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var all uint64
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, ticks, ok := procCPU(pid)
		if !ok {
			continue
		}
		all += ticks
		switch name, role := roles[pid]; {
		case role:
			s.byName[name] += ticks
		case comm == "postgres":
			s.byName["postgresql"] += ticks
		case comm == "redis-server":
			s.byName["redis"] += ticks
		}
	}
	var named uint64
	for _, t := range s.byName {
		named += t
	}
	s.byName["other processes"] = all - min(named, all)
	s.busy, s.total = machineCPU()
	return s
}

// procCPU is a process's command name and user + system CPU ticks so far.
func procCPU(pid int) (string, uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	open, closing := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 13 { // utime and stime are the 12th and 13th fields after comm
		return "", 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return string(b[open+1 : closing]), ut + st, true
}

// machineCPU is the machine's busy and total CPU ticks so far (/proc/stat's
// first line; idle and iowait are not busy).
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// cpuShares is the CPU each component used between two samples, per accepted
// event, largest first; and how busy the machine was (0–1).
func cpuShares(before, after cpuSample, accepted int64) ([]CPUShare, float64) {
	var out []CPUShare
	for name, t := range after.byName {
		secs := float64(t-min(before.byName[name], t)) / clockTicks
		sh := CPUShare{Name: name, Seconds: secs}
		if accepted > 0 {
			sh.PerEventMicro = secs / float64(accepted) * 1e6
		}
		out = append(out, sh)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	var busy float64
	if dt := after.total - min(before.total, after.total); dt > 0 {
		busy = float64(after.busy-min(before.busy, after.busy)) / float64(dt)
	}
	return out, busy
}

func printCPU(w io.Writer, p Phase) {
	if len(p.CPU) == 0 {
		return
	}
	var total float64
	for _, c := range p.CPU {
		total += c.PerEventMicro
	}
	fmt.Fprintf(w, "  CPU        machine %.0f %% busy; %.1f µs of CPU per accepted event, by component:\n", p.MachineBusy*100, total)
	for _, c := range p.CPU {
		fmt.Fprintf(w, "    %-16s %7.2f s  %6.1f µs/event\n", c.Name, c.Seconds, c.PerEventMicro)
	}
}
