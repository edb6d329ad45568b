package workers

import (
	"github.com/mutt-ops/mutt/internal/config"
	"github.com/mutt-ops/mutt/workflows"
)

// Config is the static configuration of the ops plane.
type Config struct {
	TemporalAddress   string // TEMPORAL_ADDRESS
	TemporalNamespace string // TEMPORAL_NAMESPACE
	WorkerAddr        string // health and metrics of `mutt worker`
	ApplySchedules    bool   // apply the schedules when the worker starts
	// RotationEnabled creates the monthly secret-rotation schedules unpaused
	// (MUTT_SECRET_ROTATION_ENABLED; they are created paused otherwise).
	RotationEnabled bool
	Retention       RetentionPolicy
	PrometheusURL   string
}

// RetentionPolicy are the settings the schedules pass to their workflows, and
// the worker's defaults for a run started without them.
type RetentionPolicy = workflows.RetentionPolicy

// ReadConfig reads the ops-plane variables.
func ReadConfig(e *config.Env) Config {
	return Config{
		TemporalAddress:   e.String("127.0.0.1:7233", "TEMPORAL_ADDRESS"),
		TemporalNamespace: e.String("default", "TEMPORAL_NAMESPACE"),
		WorkerAddr:        e.Addr(":8086", "MUTT_WORKER_ADDR"),
		ApplySchedules:    e.Bool(false, "MUTT_WORKER_APPLY_SCHEDULES"),
		RotationEnabled:   e.Bool(false, "MUTT_SECRET_ROTATION_ENABLED"),
		PrometheusURL:     e.URL("", []string{"http", "https"}, "PROMETHEUS_URL"),
		Retention: RetentionPolicy{
			PartitionAdvanceMonths:   e.Int(3, 1, 36, "PARTITION_ADVANCE_MONTHS"),
			EventRetentionDays:       e.Int(90, 1, 36500, "EVENT_RETENTION_DAYS"),
			ArchiveRetentionDays:     e.Int(2555, 1, 36500, "ARCHIVE_RETENTION_DAYS"),
			ConfigAuditRetentionDays: e.Int(365, 1, 36500, "CONFIG_AUDIT_RETENTION_DAYS"),
		},
	}
}
