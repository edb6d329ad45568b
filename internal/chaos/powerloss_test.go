package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/testenv"
)

// TestFsyncLogKeepsTheLastSizePerFile: the last fsync of a file counts;
// torn or junk lines are skipped.
func TestFsyncLogKeepsTheLastSizePerFile(t *testing.T) {
	got, err := parseFsyncLog(strings.NewReader("10 /d/a.aof 1\n25 /d/a.aof 2\n7 /d/b.aof 3\nx /d/c.aof 4\n-1 /d/c.aof 5\n12\n8 /d/c.aof\n30 /d/a.aof 6"))
	require.NoError(t, err)
	require.Equal(t, map[string]Sync{"/d/a.aof": {30, time.Unix(0, 6)}, "/d/b.aof": {7, time.Unix(0, 3)}}, got)
}

// TestPowerLossCutsToTheLastFsync: every AOF file is cut back to its size at
// its last fsync, a never-fsynced one to empty; other files stay.
func TestPowerLossCutsToTheLastFsync(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	aofDir := filepath.Join(real, "appendonlydir")
	require.NoError(t, os.Mkdir(aofDir, 0o700))
	files := map[string]int{"appendonly.aof.1.incr.aof": 100, "appendonly.aof.2.incr.aof": 50,
		"appendonly.aof.manifest": 40, "appendonly.aof.1.base.rdb": 80}
	for name, n := range files {
		require.NoError(t, os.WriteFile(filepath.Join(aofDir, name), make([]byte, n), 0o600))
	}
	s := &FsyncShim{Log: filepath.Join(real, "fsync.log")}
	require.NoError(t, os.WriteFile(s.Log, []byte("20 "+filepath.Join(aofDir, "appendonly.aof.1.incr.aof")+" 100\n"+
		"60 "+filepath.Join(aofDir, "appendonly.aof.1.incr.aof")+" 200\n"), 0o600))
	cuts, err := s.PowerLoss(dir)
	require.NoError(t, err)
	require.Len(t, cuts, 2)
	size := func(name string) int64 {
		info, err := os.Stat(filepath.Join(aofDir, name))
		require.NoError(t, err)
		return info.Size()
	}
	require.EqualValues(t, 60, size("appendonly.aof.1.incr.aof"))
	require.EqualValues(t, 0, size("appendonly.aof.2.incr.aof"), "never fsynced: nothing of it survives")
	require.EqualValues(t, 40, size("appendonly.aof.manifest"))
	require.EqualValues(t, 80, size("appendonly.aof.1.base.rdb"))
	var dropped int64
	for _, c := range cuts {
		dropped += c.Dropped()
	}
	require.EqualValues(t, 90, dropped)
	for _, c := range cuts {
		if strings.HasSuffix(c.File, "1.incr.aof") {
			require.Equal(t, time.Unix(0, 200), c.SyncedAt)
		} else {
			require.True(t, c.SyncedAt.IsZero())
		}
	}

	_, err = (&FsyncShim{Log: s.Log}).PowerLoss(t.TempDir())
	require.ErrorContains(t, err, "no *.aof file")
}

// TestFsyncShimUnderRedis runs a real redis-server under the shim: with
// appendfsync always a write answered OK survives the emulated power loss;
// with appendfsync no (Redis never fsyncs the AOF) it is gone, although a
// plain kill -9 would have kept it.
func TestFsyncShimUnderRedis(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fsync   string
		survive bool
	}{{"always", true}, {"no", false}} {
		t.Run(tc.fsync, func(t *testing.T) {
			shim, err := BuildFsyncShim(ctx, t.TempDir())
			require.NoError(t, err)
			srv := testenv.StartRedis(t, testenv.RedisServerOptions{AOF: true, AppendFsync: tc.fsync, Env: shim.Env()})
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
			srv.Kill()
			cuts, err := shim.PowerLoss(srv.Dir)
			require.NoError(t, err)
			var dropped int64
			for _, c := range cuts {
				require.True(t, strings.HasSuffix(c.File, ".incr.aof"), "multi-part AOF (Redis 7): %s", c.File)
				dropped += c.Dropped()
			}
			srv.Start()
			n, err := rdb.Exists(ctx, "k").Result()
			require.NoError(t, err)
			if tc.survive {
				for _, c := range cuts {
					require.WithinDuration(t, time.Now(), c.SyncedAt, time.Minute, "the fsync time is recorded")
				}
				require.Zero(t, dropped, "always: every answered write was fsynced (cuts %+v)", cuts)
				require.EqualValues(t, 1, n)
			} else {
				require.Positive(t, dropped, "no: the write was never fsynced (cuts %+v)", cuts)
				require.EqualValues(t, 0, n)
			}
		})
	}
}
