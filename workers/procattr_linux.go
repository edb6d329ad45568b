package workers

import "syscall"

// childProcAttr puts a child server (Temporal dev server, Prometheus) in its
// own process group, so Stop ends it and its children, and asks the kernel
// to send it SIGTERM when mutt dev dies, so a mutt dev killed outright does
// not leave an orphan holding the port. Pdeathsig exists only on Linux.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
