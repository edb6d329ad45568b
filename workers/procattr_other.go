//go:build !linux

package workers

import "syscall"

// childProcAttr puts a child server in its own process group, so Stop ends
// it and its children. Outside Linux there is no parent-death signal: a mutt
// dev killed with SIGKILL leaves the child running until it is stopped by
// hand (mutt dev stops it on every ordinary exit).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
