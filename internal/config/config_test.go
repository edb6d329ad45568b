package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

// TestEveryBadValueIsReportedNamingItsVariable: a person who mistypes several
// settings learns about all of them at once, each message naming the variable
// and saying what was expected; the service keeps the defaults meanwhile, and
// a password in a bad URL is never echoed.
func TestEveryBadValueIsReportedNamingItsVariable(t *testing.T) {
	t.Parallel()
	e := config.FromMap(map[string]string{
		"REDIS_URL":          "redis://:hunter2@",
		"DATABASE_URL":       "mysql://db.example.com/mutt",
		"MUTT_STREAM_SHARDS": "4096",
		"MUTT_LOG_FORMAT":    "xml",
		"MUTT_LOG_LEVEL":     "loud",
		"MUTT_REDIS_CLUSTER": "maybe",
		"X_INT":              "ten",
		"X_DURATION":         "-5s",
		"X_ADDR":             "8080",
	})
	c := config.ReadCommon(e)
	require.Equal(t, 1, e.Int(1, 1, 10, "X_INT"))
	require.Equal(t, 30*time.Second, e.Duration(30*time.Second, "X_DURATION"))
	require.Equal(t, ":8080", e.Addr(":8080", "X_ADDR"))
	require.Empty(t, e.Required("X_REQUIRED"))
	require.Equal(t, 1, c.Shards, "a refused value leaves the default")
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/mutt?sslmode=disable", c.DatabaseURL)

	err := e.Err()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`REDIS_URL: "redis://:xxxxx@" is not an absolute URL`,
		`DATABASE_URL: scheme "mysql" is not one of postgres, postgresql`,
		`MUTT_STREAM_SHARDS: 4096 is outside 1..1024`,
		`MUTT_LOG_FORMAT: "xml" is not json or text`,
		`MUTT_LOG_LEVEL: "loud" is not debug, info, warn or error`,
		`MUTT_REDIS_CLUSTER: "maybe" is not true or false`,
		`X_INT: "ten" is not an integer`,
		`X_DURATION: "-5s" is not a positive duration such as 30s`,
		`X_ADDR: "8080" is not a listen address such as :8080 or 127.0.0.1:8080`,
		`X_REQUIRED: is required`,
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "hunter2", "the password of a bad URL is redacted")
	require.True(t, strings.HasPrefix(msg, "configuration: "))
}

// TestGoodValuesAliasesAndDefaults: values are trimmed, a blank canonical
// variable falls through to its alias, lists drop empty items, SetDefault
// only fills what the environment leaves unset, and Vars lists every
// variable read with the default a settings table shows.
func TestGoodValuesAliasesAndDefaults(t *testing.T) {
	t.Parallel()
	e := config.FromMap(map[string]string{
		"MUTT_LOG_LEVEL":  "  ",
		"LOG_LEVEL":       " debug ",
		"MUTT_LOG_FORMAT": "text",
		"X_LIST":          " a, ,b,,c ",
		"X_SET":           "from-env",
		"X_DURATION":      "90s",
		"X_BOOL":          "true",
		"X_URL":           "https://moog.example.com/events",
	})
	e.SetDefault("X_SET", "from-default")
	e.SetDefault("X_UNSET", "from-default")
	c := config.ReadCommon(e)
	require.Equal(t, "debug", c.LogLevel, "the alias answers when the canonical name is blank")
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, config.DefaultRedisPrefix, c.RedisPrefix)
	require.Equal(t, []string{"a", "b", "c"}, e.List("X_LIST"))
	require.Equal(t, "from-env", e.String("", "X_SET"))
	require.Equal(t, "from-default", e.String("", "X_UNSET"))
	require.Equal(t, 90*time.Second, e.Duration(2*time.Minute, "X_DURATION"))
	require.Equal(t, time.Hour, e.Duration(time.Hour, "X_HOUR"))
	require.True(t, e.Bool(false, "X_BOOL"))
	require.Equal(t, "https://moog.example.com/events", e.URL("", []string{"https"}, "X_URL"))
	require.Empty(t, e.URL("", []string{"https"}, "X_NO_URL"), "an unset URL without default stays empty")
	require.NoError(t, e.Err())

	defaults := map[string]config.Var{}
	for _, v := range e.Vars() {
		defaults[v.Name] = v
	}
	require.Equal(t, []string{"LOG_LEVEL"}, defaults["MUTT_LOG_LEVEL"].Aliases)
	require.Equal(t, "2m", defaults["X_DURATION"].Default, "durations show as they are written")
	require.Equal(t, "1h", defaults["X_HOUR"].Default)
	require.Equal(t, "1", defaults["MUTT_STREAM_SHARDS"].Default)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/mutt?sslmode=disable", defaults["DATABASE_URL"].Default)
}
