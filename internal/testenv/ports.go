package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// portLockDir holds one lock file per port handed out by FreeAddr, in every
// test process on this machine (go test runs packages side by side).
var portLockDir = filepath.Join(os.TempDir(), "mutt-test-ports")

// FreeAddr returns a loopback address with a port that is free right now and
// reserved for this test until it ends. The port is chosen below the kernel's
// ephemeral range (32768+), so the local end of an outgoing connection cannot
// take it, and it is reserved with an flock on a file named after it, so no
// other test — in this process or another test binary running alongside —
// is handed the same port between this call and the moment the test's
// server binds it. Two tests given the same random port were what made
// "bind: address already in use" failures. The lock goes with the test's
// cleanup or, if the process dies, with the process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	if err := os.MkdirAll(portLockDir, 0o750); err != nil {
		t.Fatalf("port reservations: %v", err)
	}
	for i := 0; i < 1000; i++ {
		port := 20000 + rand.IntN(12000) // #nosec G404 -- a random port to try, no secret
		lock, ok := reservePort(port)
		if !ok {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = lock.Close()
			continue
		}
		_ = ln.Close()
		t.Cleanup(func() { _ = lock.Close() })
		return addr
	}
	t.Fatal("no free port in 20000..31999")
	return ""
}

// reservePort takes the exclusive lock of port's file without waiting. flock
// locks belong to an open file, so a second reservation of the same port
// fails in this process as well as in any other; closing the file releases it.
func reservePort(port int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o600) // #nosec G304 -- a file named after a port number in the test lock directory
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false
	}
	return f, true
}
