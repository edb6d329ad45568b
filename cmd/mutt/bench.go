package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// errNoMuttdev says where the benchmark went and how to get it.
var errNoMuttdev = errors.New("the benchmark is `muttdev bench` now, and no muttdev was found next to mutt or on PATH: " +
	"run `make install` (it installs mutt and muttdev together), or `go run ./cmd/muttdev bench` in the checkout")

// runBench keeps `mutt bench` working for operators who learned it: the
// benchmark lives in muttdev (so this production binary does not link it),
// and this replaces the process with `muttdev bench -mutt=<this binary>`
// and the same arguments.
func runBench(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the mutt binary: %w", err)
	}
	muttdev, err := findMuttdev(self, exec.LookPath)
	if err != nil {
		return err
	}
	argv := append([]string{muttdev, "bench", "-mutt=" + self}, args...)
	// muttdev installed beside mutt or on PATH, with the user's own arguments.
	if err := syscall.Exec(muttdev, argv, os.Environ()); err != nil { // #nosec G204 G702 -- see above
		return fmt.Errorf("run %s bench: %w", muttdev, err)
	}
	return nil
}

// findMuttdev is the muttdev next to mutt's own executable (make install
// puts both in one directory), else the one on PATH.
func findMuttdev(self string, lookPath func(string) (string, error)) (string, error) {
	p := filepath.Join(filepath.Dir(self), "muttdev")
	if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	if p, err := lookPath("muttdev"); err == nil {
		return p, nil
	}
	return "", errNoMuttdev
}
