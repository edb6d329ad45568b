package bench

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mutt-ops/mutt/internal/procstat"
)

// CPUShare is the CPU time one component of the machine used during a phase.
type CPUShare struct {
	Name          string
	Seconds       float64 // user + system
	PerEventMicro float64 // Seconds per accepted event, in µs
}

// cpuSample is a snapshot of CPU time per component, and of the machine's
// busy and total ticks (all CPUs).
type cpuSample struct {
	byName      map[string]time.Duration
	busy, total uint64
}

// sampleCPU reads the CPU time of each role (by pid), of this process (the
// load generator), of every PostgreSQL and Redis server process on the
// machine (by command name: a private test server counts too, so run the
// bench alone), of everything else, and of the machine as a whole.
func (r *run) sampleCPU() cpuSample {
	s := cpuSample{byName: map[string]time.Duration{}}
	roles := map[int]string{os.Getpid(): "load generator"}
	for _, p := range r.procs {
		roles[p.cmd.Process.Pid] = p.name
	}
	var all time.Duration
	procstat.Each(func(pid int, st procstat.Stat) {
		all += st.CPU
		switch name, role := roles[pid]; {
		case role:
			s.byName[name] += st.CPU
		case st.Comm == "postgres":
			s.byName["postgresql"] += st.CPU
		case st.Comm == "redis-server":
			s.byName["redis"] += st.CPU
		}
	})
	var named time.Duration
	for _, t := range s.byName {
		named += t
	}
	s.byName["other processes"] = all - min(named, all)
	s.busy, s.total = machineCPU()
	return s
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
		secs := (t - min(before.byName[name], t)).Seconds()
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
