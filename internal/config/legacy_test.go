package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

func TestPythonVariablesAreFallbacksWithOneWarningEach(t *testing.T) {
	e := config.FromMap(map[string]string{
		"REDIS_HOST": "redis.prod", "REDIS_PORT": "6380", "REDIS_DB": "2", "REDIS_PASS": "s3cr/t",
		"DB_HOST": "pg.prod", "DB_NAME": "mutt", "DB_USER": "mutt_user", "DB_PASS": "pw", "DB_TLS_ENABLED": "false",
		"SERVER_PORT_INGESTOR": "8080", "SERVER_PORT_WEBUI": "8091", "LOG_JSON_ENABLED": "false",
	})
	c := config.ReadCommon(e)
	require.NoError(t, e.Err())
	require.Equal(t, "rediss://:s3cr%2Ft@redis.prod:6380/2", c.RedisURL, "TLS on unless REDIS_TLS_ENABLED=false, as in Python")
	require.Equal(t, "postgres://mutt_user:pw@pg.prod:5432/mutt?sslmode=disable", c.DatabaseURL)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, ":8080", e.Addr(":9999", "MUTT_INGEST_ADDR"))
	require.Equal(t, ":8091", e.Addr(":8090", "MUTT_API_ADDR"))
	// Reading again does not warn again.
	_ = config.ReadCommon(e)
	_ = e.Addr(":9999", "MUTT_INGEST_ADDR")
	seen := map[string]int{}
	for _, w := range e.Warnings() {
		seen[strings.Fields(w)[0]]++
	}
	for _, n := range []string{"REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASS", "DB_HOST", "DB_NAME", "DB_PASS",
		"DB_TLS_ENABLED", "SERVER_PORT_INGESTOR", "SERVER_PORT_WEBUI", "LOG_JSON_ENABLED"} {
		require.Equal(t, 1, seen[n], n)
	}
	require.NotContains(t, strings.Join(e.Warnings(), "\n"), "s3cr", "no secret in a warning")
}

func TestMuttVariablesWinOverPythonOnes(t *testing.T) {
	e := config.FromMap(map[string]string{"REDIS_URL": "redis://mine:6379/0", "REDIS_HOST": "theirs",
		"MUTT_INGEST_ADDR": ":7000", "SERVER_PORT_INGESTOR": "8080"})
	c := config.ReadCommon(e)
	require.NoError(t, e.Err())
	require.Equal(t, "redis://mine:6379/0", c.RedisURL)
	require.Equal(t, ":7000", e.Addr(":8080", "MUTT_INGEST_ADDR"))
}

func TestRefusedPythonVariablesNameTheReplacement(t *testing.T) {
	e := config.FromMap(map[string]string{"METRICS_PORT_ALERTER": "8081", "INGEST_QUEUE_NAME": "mutt:ingest_queue",
		"SERVER_PORT_INGESTOR": "http"})
	_ = config.ReadCommon(e)
	_ = e.Addr(":8080", "MUTT_INGEST_ADDR")
	err := e.Err()
	require.ErrorContains(t, err, "METRICS_PORT_ALERTER: is a Python MUTT setting that MUTT does not read: MUTT serves /metrics and /health on one address per process: set MUTT_ALERTER_ADDR")
	require.ErrorContains(t, err, "INGEST_QUEUE_NAME: is a Python MUTT setting")
	require.ErrorContains(t, err, `SERVER_PORT_INGESTOR: "http" is not a port 1..65535 (read in place of MUTT_INGEST_ADDR)`)
}

func TestFromOSPrintsDeprecations(t *testing.T) {
	t.Setenv("REDIS_HOST", "redis.prod")
	e := config.FromOS()
	var buf bytes.Buffer
	config.SetWarningOutput(e, &buf)
	_ = config.ReadCommon(e)
	require.Contains(t, buf.String(), "mutt: deprecated: REDIS_HOST is the Python MUTT's setting: assembled into REDIS_URL")
}

func TestVarsRecordsEveryVariableWithDefault(t *testing.T) {
	e := config.FromMap(nil)
	_ = config.ReadCommon(e)
	byName := map[string]config.Var{}
	for _, v := range e.Vars() {
		byName[v.Name] = v
	}
	require.Equal(t, "redis://127.0.0.1:6379/0", byName["REDIS_URL"].Default)
	require.Equal(t, []string{"LOG_LEVEL"}, byName["MUTT_LOG_LEVEL"].Aliases)
	require.Equal(t, "1", byName["MUTT_STREAM_SHARDS"].Default)
}
