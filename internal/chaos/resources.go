package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Answers counts the answers of a status (200s are not counted here: see
// Accepted; -1 counts 200s without readable event_ids).
func (l *Load) Answers(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status[status]
}

// Tmpfs is a size-limited tmpfs mounted for a test: a disk that fills up
// (as root only). Grow frees space as an operator adding a disk would.
type Tmpfs struct {
	Dir string
}

// MountTmpfs mounts a tmpfs of size bytes on dir (which must exist).
func MountTmpfs(ctx context.Context, dir string, size int64) (*Tmpfs, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("mount a tmpfs on %s: needs root", dir)
	}
	if err := run(ctx, "mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir); err != nil {
		return nil, err
	}
	return &Tmpfs{Dir: dir}, nil
}

// Resize changes the size of the tmpfs (it cannot shrink below what its files use).
func (m *Tmpfs) Resize(ctx context.Context, size int64) error {
	return run(ctx, "mount", "-o", "remount,size="+strconv.FormatInt(size, 10), m.Dir)
}

// Usage reports the bytes used and available on the tmpfs.
func (m *Tmpfs) Usage() (used, avail int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(m.Dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", m.Dir, err)
	}
	bs := int64(st.Bsize)                                             // #nosec G115 -- a block size
	return int64(st.Blocks-st.Bfree) * bs, int64(st.Bavail) * bs, nil // #nosec G115 -- block counts of a small tmpfs
}

// Unmount detaches the tmpfs lazily: a server that still holds files on it
// keeps them until it closes them, and the mount point is free at once.
func (m *Tmpfs) Unmount() error {
	return run(context.Background(), "umount", "-l", m.Dir)
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput() // #nosec G204 -- the harness's own mount and umount calls
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
