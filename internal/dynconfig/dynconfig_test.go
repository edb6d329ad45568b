package dynconfig_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestRegistryDefaultsParse(t *testing.T) {
	for _, k := range dynconfig.Keys() {
		_, err := k.Parse(k.Default)
		require.NoError(t, err, k.Name)
		require.NotEmpty(t, k.Description, k.Name)
		require.NotEmpty(t, k.Services, k.Name)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ key, val, want string }{
		{"moog_batch_size", "abc", "moog_batch_size: \"abc\" is not an integer"},
		{"moog_batch_size", "0", "moog_batch_size: 0 is outside 1..1000"},
		{"alerter_shed_mode", "drop", "alerter_shed_mode: \"drop\" is not one of defer, dlq"},
	} {
		k, ok := dynconfig.Lookup(tc.key)
		require.True(t, ok)
		_, err := k.Parse(tc.val)
		require.EqualError(t, err, tc.want)
	}
}

func TestStoreSeesChangeWithinASecond(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := dynconfig.NewStore(rdb, keys, quiet)
	require.EqualValues(t, 1, s.Int(dynconfig.MoogBatchSize))
	go func() { _ = s.Run(ctx) }()
	// Wait until the store listens for change notices.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := rdb.PubSubNumSub(ctx, keys.ConfigUpdates()).Result()
		assert.NoError(c, err)
		assert.EqualValues(c, 1, n[keys.ConfigUpdates()])
	}, 10*time.Second, 10*time.Millisecond)

	// Seen well before the periodic re-read (CacheTTL): the notice did it.
	// The bound is generous, for a loaded machine; it only has to be shorter
	// than CacheTTL to tell the two apart.
	notice := dynconfig.CacheTTL / 2
	require.NoError(t, dynconfig.Set(ctx, rdb, keys, "moog_batch_size", "25"))
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.EqualValues(c, 25, s.Int(dynconfig.MoogBatchSize)) }, notice, 10*time.Millisecond)

	// A bad value written behind the API's back is ignored, with the default in force.
	require.NoError(t, rdb.Set(ctx, keys.Config("moog_batch_size"), "lots", 0).Err())
	require.NoError(t, rdb.Publish(ctx, keys.ConfigUpdates(), "moog_batch_size").Err())
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.EqualValues(c, 1, s.Int(dynconfig.MoogBatchSize)) }, notice, 10*time.Millisecond)
	for _, v := range s.Effective() {
		if v.Key.Name == "moog_batch_size" {
			require.Equal(t, "invalid", v.Source)
		}
	}

	require.Error(t, dynconfig.Set(ctx, rdb, keys, "no_such_key", "1"))
	require.Error(t, dynconfig.Set(ctx, rdb, keys, "moog_batch_size", "5000"))
}

func TestInitNeverOverwritesAndDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, keys.Config("moog_rate_limit"), "7", 0).Err())
	env := map[string]string{"MOOG_RATE_LIMIT": "99", "MOOG_BATCH_SIZE": "10"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	var out bytes.Buffer
	acts, err := dynconfig.Init(ctx, rdb, keys, lookup, true, &out)
	require.NoError(t, err)
	require.NotEmpty(t, acts)
	n, err := rdb.Exists(ctx, keys.Config("moog_batch_size")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "dry run writes nothing")
	require.Contains(t, out.String(), "would set")

	_, err = dynconfig.Init(ctx, rdb, keys, lookup, false, nil)
	require.NoError(t, err)
	v, _ := rdb.Get(ctx, keys.Config("moog_rate_limit")).Result()
	require.Equal(t, "7", v, "an operator's value is kept")
	v, _ = rdb.Get(ctx, keys.Config("moog_batch_size")).Result()
	require.Equal(t, "10", v, "seeded from env")
	v, _ = rdb.Get(ctx, keys.Config("unhandled_threshold")).Result()
	require.Equal(t, "100", v, "seeded from the default")

	env["MOOG_BATCH_SIZE"] = "-3"
	_, err = dynconfig.Init(ctx, rdb, keys, lookup, false, nil)
	require.ErrorContains(t, err, "MOOG_BATCH_SIZE")
}

// TestStringValuesAreBounded: a string key refuses a value longer than its
// limit (counted in characters), naming the key and the limit without
// echoing the value.
func TestStringValuesAreBounded(t *testing.T) {
	k, ok := dynconfig.Lookup("unhandled_default_team")
	require.True(t, ok)
	require.Equal(t, dynconfig.DefaultMaxLen, k.MaxLength())
	_, err := k.Parse(strings.Repeat("é", dynconfig.DefaultMaxLen))
	require.NoError(t, err, "the limit counts characters, not bytes")
	_, err = k.Parse(strings.Repeat("x", 100000))
	require.EqualError(t, err, "unhandled_default_team: value is 100000 characters long, the limit is 256")
	// Other parse errors quote only a short prefix of a long value.
	k, _ = dynconfig.Lookup("moog_batch_size")
	_, err = k.Parse(strings.Repeat("y", 100000))
	require.ErrorContains(t, err, "(100000 characters)")
	require.Less(t, len(err.Error()), 200)
}

// TestStoreNeverLogsAHugeValue: a value over the limit already in Redis (set
// before the limit existed, or by hand) is not used, and the start-up log
// says so without printing it.
func TestStoreNeverLogsAHugeValue(t *testing.T) {
	t.Parallel()
	rdb, keys := testenv.Redis(t)
	huge := strings.Repeat("T", 100000)
	require.NoError(t, rdb.Set(t.Context(), keys.Config("unhandled_default_team"), huge, 0).Err())
	var logs bytes.Buffer
	s := dynconfig.NewStore(rdb, keys, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, s.Reload(t.Context()))
	require.Less(t, logs.Len(), 20000, "the log holds no 100,000-character value")
	require.Contains(t, logs.String(), "unhandled_default_team: value is 100000 characters long, the limit is 256")
}

// TestHandlesReadTypedValues: a new store serves every default through the
// key's handle, durations in the unit the key's name says.
func TestHandlesReadTypedValues(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	s := dynconfig.NewStore(rdb, keys, quiet)
	require.EqualValues(t, 50, s.Int(dynconfig.MoogRateLimit))
	require.Equal(t, "moog_rate_limit", dynconfig.MoogRateLimit.Name())
	require.Equal(t, 30*time.Second, s.Duration(dynconfig.StreamVisibilityTimeout))
	require.Equal(t, 30*time.Second, s.Duration(dynconfig.CircuitBreakerTimeout))
	require.Equal(t, "defer", s.String(dynconfig.AlerterShedMode))
	// The zero handle names no key: reading it fails loudly instead of
	// yielding zero (for moog_rate_limit, zero would mean unlimited).
	require.PanicsWithValue(t, "dynconfig: read through a handle of no registered key",
		func() { s.Int(dynconfig.IntKey{}) })
}
