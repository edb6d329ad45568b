package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	muttapp "github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/postgres"
	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/workers"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// common reads the settings shared with mutt, failing with the variable's name.
func (a *app) common() (config.Common, error) {
	e := a.cfgEnv()
	c := config.ReadCommon(e)
	if err := e.Err(); err != nil {
		return c, usageErr("%v", err)
	}
	return c, nil
}

// redis connects as mutt's admin tools do (REDIS_ADMIN_URL, else REDIS_URL).
func (a *app) redis(ctx context.Context) (redis.UniversalClient, keyspace.Keys, error) {
	c, err := a.common()
	if err != nil {
		return nil, keyspace.Keys{}, err
	}
	e := a.cfgEnv()
	u := e.URL(c.RedisURL, []string{"redis", "rediss"}, "REDIS_ADMIN_URL")
	if err := e.Err(); err != nil {
		return nil, keyspace.Keys{}, usageErr("%v", err)
	}
	rdb, err := redisconn.Open(ctx, redisconn.Options{URL: u, Cluster: c.RedisCluster})
	if err != nil {
		return nil, keyspace.Keys{}, unreachable("redis", err)
	}
	return rdb, keyspace.New(c.RedisPrefix, c.Shards), nil
}

// db connects as migrations do (DATABASE_ADMIN_URL, else DATABASE_URL).
func (a *app) db(ctx context.Context) (*pgxpool.Pool, error) {
	c, err := a.common()
	if err != nil {
		return nil, err
	}
	e := a.cfgEnv()
	u := e.URL(c.DatabaseURL, []string{"postgres", "postgresql"}, "DATABASE_ADMIN_URL")
	if err := e.Err(); err != nil {
		return nil, usageErr("%v", err)
	}
	db, err := postgres.Open(ctx, postgres.Options{URL: u})
	if err != nil {
		return nil, unreachable("postgresql", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, unreachable("postgresql", err)
	}
	return db, nil
}

// temporal dials Temporal (TEMPORAL_ADDRESS, ...) and returns the task queue
// and id prefix of this instance (muttapp.DevTemporal of MUTT_REDIS_PREFIX:
// the defaults for the default prefix).
func (a *app) temporal(ctx context.Context) (tc client.Client, taskQueue, idPrefix string, err error) {
	c, err := a.common()
	if err != nil {
		return nil, "", "", err
	}
	e := a.cfgEnv()
	wcfg := workers.ReadConfig(e)
	if err := e.Err(); err != nil {
		return nil, "", "", usageErr("%v", err)
	}
	taskQueue, idPrefix = muttapp.DevTemporal(c.RedisPrefix)
	tc, err = workers.Dial(ctx, wcfg.Temporal, discardLogger())
	if err != nil {
		return nil, "", "", unreachable("temporal at "+wcfg.Temporal.Address, err)
	}
	return tc, taskQueue, idPrefix, nil
}

// pipelineConfig is the configuration `mutt dev` derives from the same
// environment: listen addresses, the log file.
func (a *app) pipelineConfig() (muttapp.Config, error) {
	cfg, err := muttapp.ReadConfig(a.cfgEnv(), true, muttapp.AllRoles)
	if err != nil {
		return cfg, usageErr("%v", err)
	}
	return cfg, nil
}
