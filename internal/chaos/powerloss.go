package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FsyncShim emulates a power loss of a redis-server: a kill -9 keeps
// everything Redis wrote in the kernel's page cache, so it cannot show
// what appendfsync everysec loses; a crash of the machine keeps only what
// was fsynced. The shim is an LD_PRELOAD library that logs, for every AOF
// file, the size it had at each successful fsync/fdatasync (Log); PowerLoss
// then cuts every AOF file back to that size after the server was killed,
// which is what the disk would hold after the machine died at that moment
// (the worst case: the kernel may have written back more on its own). ADR
// 0042 has the reasoning.
type FsyncShim struct {
	Lib string // the shared library, for LD_PRELOAD
	Log string // where the library appends "<size> <path>" lines
}

// BuildFsyncShim compiles the library with gcc into dir. The fsync log is
// dir/fsync.log.
func BuildFsyncShim(ctx context.Context, dir string) (*FsyncShim, error) {
	src := filepath.Join(dir, "fsyncshim.c")
	if err := os.WriteFile(src, []byte(fsyncShimC), 0o600); err != nil {
		return nil, fmt.Errorf("fsync shim: %w", err)
	}
	lib := filepath.Join(dir, "fsyncshim.so")
	cmd := exec.CommandContext(ctx, "gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", lib, src, "-ldl") // #nosec G204 -- fixed arguments in the caller's temp dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gcc fsync shim (gcc is needed to emulate a power loss): %w\n%s", err, out)
	}
	return &FsyncShim{Lib: lib, Log: filepath.Join(dir, "fsync.log")}, nil
}

// Env is the environment a redis-server needs to run under the shim.
func (s *FsyncShim) Env() []string {
	return []string{"LD_PRELOAD=" + s.Lib, "MUTT_FSYNC_LOG=" + s.Log}
}

// Sync is the last successful fsync of a file: its size then, and when the
// call began (every write before that moment was durable after it).
type Sync struct {
	Size int64
	At   time.Time
}

// Synced reads the log: for every file, its last successful fsync. A file
// without an entry was never fsynced.
func (s *FsyncShim) Synced() (map[string]Sync, error) {
	f, err := os.Open(s.Log)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Sync{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fsync log: %w", err)
	}
	defer func() { _ = f.Close() }()
	return parseFsyncLog(f)
}

func parseFsyncLog(f interface{ Read([]byte) (int, error) }) (map[string]Sync, error) {
	out := map[string]Sync{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 8192), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue // a torn line: the shim's write was cut short
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		ns, terr := strconv.ParseInt(f[2], 10, 64)
		if err != nil || terr != nil || n < 0 {
			continue
		}
		out[f[1]] = Sync{Size: n, At: time.Unix(0, ns)} // the last fsync of a file is what counts
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fsync log: %w", err)
	}
	return out, nil
}

// Cut is what PowerLoss did to one AOF file.
type Cut struct {
	File     string
	Size     int64     // before the power loss (what the page cache held)
	Synced   int64     // after: what the last fsync had made durable
	SyncedAt time.Time // when that fsync began; zero when the file was never fsynced
}

// Dropped is the number of bytes the power loss took.
func (c Cut) Dropped() int64 { return c.Size - c.Synced }

// PowerLoss cuts every *.aof file under dir (Redis's dir: the multi-part
// AOF's appendonlydir/ is searched too) back to its size at its last
// successful fsync, or to empty when it was never fsynced. Call it after the
// server was killed with SIGKILL and before it starts again. Other files
// (the manifest, an RDB base file) are left alone: Redis fsyncs them and
// their directory when it writes them, and they change only at a rewrite.
func (s *FsyncShim) PowerLoss(dir string) ([]Cut, error) {
	synced, err := s.Synced()
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("power loss: %w", err)
	}
	var cuts []Cut
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".aof") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		last := synced[path]
		keep := min(last.Size, info.Size())
		cuts = append(cuts, Cut{File: path, Size: info.Size(), Synced: keep, SyncedAt: last.At})
		if keep < info.Size() {
			return os.Truncate(path, keep)
		}
		return nil
	})
	if err != nil {
		return cuts, fmt.Errorf("power loss: %w", err)
	}
	if len(cuts) == 0 {
		return nil, fmt.Errorf("power loss: no *.aof file under %s (is appendonly on?)", dir)
	}
	return cuts, nil
}
