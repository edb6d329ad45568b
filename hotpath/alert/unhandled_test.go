package alert

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/rules"
)

// privateRedis starts a redis-server of the test's own on a free port, so
// the test starts from a server that has never seen the script (and can do
// what it likes to it without touching the shared server).
func privateRedis(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	t.Cleanup(func() { _ = rdb.Close() })
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, wait, 10*time.Millisecond)
	return rdb
}

func unmatchedItems(host string, msgs ...string) []item {
	out := make([]item, len(msgs))
	for i, m := range msgs {
		out[i] = item{env: event.Envelope{EventID: uuid.NewString(), Hostname: host, Message: m}}
	}
	return out
}

func TestCountUnhandled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := privateRedis(t)
	keys := keyspace.New("t:", 1)
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	require.NoError(t, dynconfig.Set(ctx, rdb, keys, "unhandled_threshold", "3"))
	require.NoError(t, dynconfig.Set(ctx, rdb, keys, "unhandled_window", "600"))
	require.NoError(t, dyn.Reload(ctx))
	a := &Alerter{o: Options{Redis: rdb, Keys: keys, Dyn: dyn}, log: quiet}
	eng, _ := rules.Compile(nil, nil, map[string]string{"core1": "Core"})

	// The first call meets NOSCRIPT on this fresh server, loads the script
	// and runs again; nothing is counted twice.
	first := unmatchedItems("core1", "port 1 flapped", "port 2 flapped")
	metas, err := a.countUnhandled(ctx, eng, first)
	require.NoError(t, err)
	require.Empty(t, metas)
	key := keys.Unhandled("core1", rules.Fingerprint("port 1 flapped"))
	require.Equal(t, "2", rdb.HGet(ctx, key, "count").Val())
	ttl := rdb.TTL(ctx, key).Val()
	require.Greater(t, ttl, time.Duration(0))
	require.LessOrEqual(t, ttl, 600*time.Second)

	// The third event of the window fires, even mid-batch; host case does not
	// split the window.
	second := unmatchedItems("CORE1", "port 3 flapped", "port 4 flapped")
	metas, err = a.countUnhandled(ctx, eng, second)
	require.NoError(t, err)
	require.Len(t, metas, 1)
	require.Equal(t, second[0].env.EventID, metas[0].EventID)
	require.Equal(t, "Core", metas[0].Team)
	require.Equal(t, "MUTT_Alerter:CORE1:"+rules.Fingerprint("port 1 flapped"), metas[0].Signature)

	// The same batch retried (e.g. after its audit write failed and the
	// process died) raises the meta-alert again: at-least-once.
	metas, err = a.countUnhandled(ctx, eng, second)
	require.NoError(t, err)
	require.Len(t, metas, 1)
	require.Equal(t, second[0].env.EventID, metas[0].EventID)

	// Anything else in the window stays silent.
	metas, err = a.countUnhandled(ctx, eng, unmatchedItems("core1", "port 5 flapped"))
	require.NoError(t, err)
	require.Empty(t, metas)

	// A key an operator overwrote with another type is skipped; the other
	// keys of the batch are still counted.
	broken := keys.Unhandled("edge1", rules.Fingerprint("x"))
	require.NoError(t, rdb.Set(ctx, broken, "not a hash", 0).Err())
	require.NoError(t, dynconfig.Set(ctx, rdb, keys, "unhandled_threshold", "1"))
	require.NoError(t, dyn.Reload(ctx))
	batch := append(unmatchedItems("edge1", "x"), unmatchedItems("edge2", "y")...)
	metas, err = a.countUnhandled(ctx, eng, batch)
	require.NoError(t, err)
	require.Len(t, metas, 1)
	require.Equal(t, "edge2", metas[0].Hostname)
	require.Equal(t, "NETO", metas[0].Team)
}

func TestMetaAlertSampleIsCut(t *testing.T) {
	t.Parallel()
	require.Equal(t, "abc", truncateRunes("abc", 200))
	long := ""
	for range 250 {
		long += "é"
	}
	cut := truncateRunes(long, 200)
	require.Equal(t, 200, len([]rune(cut)))
}
