package activities

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"

	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workflows"
)

// Deps are what the activities need. Fields a deployment does not use may be
// left zero (e.g. PrometheusURL: the SLO report then says "no data").
type Deps struct {
	DB            *pgxpool.Pool
	Redis         redis.UniversalClient
	Keys          keyspace.Keys
	Log           *slog.Logger
	Registerer    prometheus.Registerer
	HTTP          *http.Client
	PrometheusURL string // PROMETHEUS_URL
	MoogURL       string // MOOG_WEBHOOK_URL (health probe of DLQ remediation)
	MoogAPIKey    string
	// Now is the clock of retention cut-offs and partition months (injected by tests).
	Now func() time.Time
	// Retention is the worker's configured policy (PARTITION_ADVANCE_MONTHS,
	// EVENT_RETENTION_DAYS, …): what a run started without them uses. Zero
	// fields leave the workflows' code defaults.
	Retention workflows.RetentionPolicy

	// Secret rotation (activities/secrets.go).
	Secrets       secrets.Provider
	RedisAdmin    redis.UniversalClient // can run ACL SETUSER on RedisUsername
	RedisUsername string                // REDIS_USERNAME, the rotated ACL user ("mutt" when empty)
	DBAdmin       *pgxpool.Pool         // can ALTER ROLE DBUser
	DBUser        string                // DB_USER, the rotated login role ("mutt_app" when empty; the provider's DB_USER wins)
}

// policy is the local activity answering the worker's retention policy
// (workflows.ActivityRetentionPolicy, workflows.ActivityPartitionPolicy).
func (d *Deps) policy(context.Context) (workflows.RetentionPolicy, error) {
	return d.Retention, nil
}

// Registry is what a worker offers to register activities (worker.Worker satisfies it).
type Registry interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// withDefaults returns a copy of d in which every field a deployment may
// leave zero and the activities cannot do without has its default: the one
// place those defaults live. The caller's value is left as it was.
func (d *Deps) withDefaults() *Deps {
	c := *d
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		// Metrics are still counted, just not exported.
		c.Registerer = prometheus.NewRegistry()
	}
	return &c
}

// activityGroup is what every group of activities starts from: the Deps
// with their defaults, a logger tagged with the group's component, and the
// group's metrics.
type activityGroup[M any] struct {
	d   *Deps
	log *slog.Logger
	m   M
}

func newActivityGroup[M any](d *Deps, component string, newMetrics func(prometheus.Registerer) (M, error)) (activityGroup[M], error) {
	d = d.withDefaults()
	m, err := newMetrics(d.Registerer)
	if err != nil {
		return activityGroup[M]{}, err
	}
	return activityGroup[M]{d: d, log: d.Log.With("component", component), m: m}, nil
}

// now is the injected clock (withDefaults defaults it to time.Now).
func (g activityGroup[M]) now() time.Time {
	return g.d.Now()
}

// logger tags log lines with the workflow run they belong to.
func (g activityGroup[M]) logger(ctx context.Context) *slog.Logger {
	info := activity.GetInfo(ctx)
	return g.log.With("workflow_id", info.WorkflowExecution.ID, "attempt", info.Attempt)
}

// registerAs registers each activity under the name its workflow calls.
func registerAs(r Registry, byName map[string]any) {
	for name, fn := range byName {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// Register registers every activity under the name its workflow calls.
// Zero fields of d take their defaults (withDefaults); d itself is not
// changed.
func Register(r Registry, d *Deps) error {
	if d == nil {
		return errors.New("register activities: nil Deps")
	}
	d = d.withDefaults()
	for _, reg := range []func(Registry, *Deps) error{registerPartitions, registerRetention, registerDLQ, registerSLO, registerSecrets} {
		if err := reg(r, d); err != nil {
			return err
		}
	}
	return nil
}
