package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activities of DLQRemediationWorkflow (implemented in activities/dlq.go).
const (
	// ActivityDLQCheckMoogHealth probes the Moogsoft webhook (cached in Redis
	// for every worker): func(ctx) (DLQMoogHealth, error).
	ActivityDLQCheckMoogHealth = "DLQCheckMoogHealth"
	// ActivityDLQReplayStream replays (or parks) the entries of one DLQ:
	// func(ctx, DLQReplayInput) (DLQReplayResult, error).
	ActivityDLQReplayStream = "DLQReplayStream"
	// ActivityDLQRecordDepths reads the depth of every DLQ and sets the
	// gauges: func(ctx, DLQDepthsInput) (DLQDepths, error).
	ActivityDLQRecordDepths = "DLQRecordDepths"
)

// Dead-letter streams DLQRemediationWorkflow works on (DLQInput.Streams).
const (
	DLQMoog    = "moog"    // mutt:dlq:moog → alert stream; gated on Moogsoft health
	DLQAlerter = "alerter" // mutt:dlq:alerter → ingest stream
	DLQPoison  = "poison"  // mutt:dlq:poison, where entries past MaxReplays are parked
	// Streams that are never replayed (raw input that failed to parse, and
	// parked poison): a run with Discard may still delete entries of them.
	DLQSyslog = "syslog" // mutt:dlq:syslog
	DLQSNMP   = "snmp"   // mutt:dlq:snmp
)

// DLQDiscardOnly are the dead-letter streams a run may only discard from.
var DLQDiscardOnly = []string{DLQPoison, DLQSyslog, DLQSNMP}

// Defaults and bounds of DLQInput.
const (
	DLQDefaultMaxEntries = 1000
	DLQDefaultBatchSize  = 100
	DLQDefaultMaxReplays = 3
	// DLQMaxBatchSize bounds one XRANGE and one pipeline.
	DLQMaxBatchSize = 1000
	// DLQMaxReportedPoison caps the poisoned entries listed in a result, so a
	// flood of poison cannot blow up the workflow history.
	DLQMaxReportedPoison = 100
)

// DLQInput is the input of DLQRemediationWorkflow; the zero value (or no
// input at all) means both DLQs with the defaults.
type DLQInput struct {
	// Streams to remediate: "moog", "alerter"; empty means both.
	Streams []string `json:"streams,omitempty"`
	// MaxEntries bounds the entries examined per stream and run; 0 → 1000.
	MaxEntries int `json:"max_entries,omitempty"`
	// BatchSize is the entries read and moved per step (one heartbeat each); 0 → 100, at most 1000.
	BatchSize int `json:"batch_size,omitempty"`
	// MaxReplays: an entry already replayed this often is parked in the
	// poison stream instead; 0 → 3.
	MaxReplays int `json:"max_replays,omitempty"`
	// DryRun counts what would be replayed or parked and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Reasons, when set, limits the run to entries whose dead-letter reason is
	// listed (e.g. "moog_rejected"); others are counted as skipped and left.
	Reasons []string `json:"reasons,omitempty"`
	// IDs, when set, limits the run to these entries of the one stream in
	// Streams (the operator's selection in the console); ids no longer in the
	// stream are counted as not found. At most DLQMaxIDs.
	IDs []string `json:"ids,omitempty"`
	// Discard deletes the selected entries instead of replaying them (no
	// Moogsoft check, nothing parked). The caller audits why.
	Discard bool `json:"discard,omitempty"`
}

// DLQMaxIDs bounds DLQInput.IDs (one page of a selection).
const DLQMaxIDs = 1000

// validStreamID is a Redis stream entry id ("1700000000000-0").
var validStreamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// normalize applies the defaults and rejects what cannot be meant.
func (in DLQInput) normalize() (DLQInput, error) {
	out := in
	var errs []error
	if len(in.Streams) == 0 {
		out.Streams = []string{DLQMoog, DLQAlerter}
	} else {
		for _, s := range in.Streams {
			switch {
			case s == DLQMoog || s == DLQAlerter:
			case slices.Contains(DLQDiscardOnly, s) && in.Discard:
			case slices.Contains(DLQDiscardOnly, s):
				errs = append(errs, fmt.Errorf("stream %q is never replayed (only discarded)", s))
			default:
				errs = append(errs, fmt.Errorf("unknown stream %q (want %q or %q)", s, DLQMoog, DLQAlerter))
			}
		}
		// Fixed order and no duplicates, whatever the operator typed.
		out.Streams = nil
		for _, s := range append([]string{DLQMoog, DLQAlerter}, DLQDiscardOnly...) {
			if slices.Contains(in.Streams, s) {
				out.Streams = append(out.Streams, s)
			}
		}
	}
	if len(in.IDs) > 0 {
		if len(in.Streams) != 1 {
			errs = append(errs, errors.New("ids need exactly one stream"))
		}
		if len(in.IDs) > DLQMaxIDs {
			errs = append(errs, fmt.Errorf("ids: %d entries, at most %d", len(in.IDs), DLQMaxIDs))
		}
		out.IDs = nil
		seen := map[string]bool{}
		for _, id := range in.IDs {
			if !validStreamID.MatchString(id) {
				errs = append(errs, fmt.Errorf("ids: %q is not a stream entry id", id))
				continue
			}
			if !seen[id] {
				seen[id] = true
				out.IDs = append(out.IDs, id)
			}
		}
	}
	def := func(name string, v, d, hi int) int {
		switch {
		case v < 0 || (hi > 0 && v > hi):
			errs = append(errs, fmt.Errorf("%s %d out of range", name, v))
		case v == 0:
			return d
		}
		return v
	}
	out.MaxEntries = def("max_entries", in.MaxEntries, DLQDefaultMaxEntries, 0)
	out.BatchSize = def("batch_size", in.BatchSize, DLQDefaultBatchSize, DLQMaxBatchSize)
	out.MaxReplays = def("max_replays", in.MaxReplays, DLQDefaultMaxReplays, 0)
	out.BatchSize = min(out.BatchSize, out.MaxEntries)
	return out, errors.Join(errs...)
}

// DLQMoogHealth is the result of the Moogsoft probe.
type DLQMoogHealth struct {
	Healthy bool `json:"healthy"`
	// Status is the HTTP status of the probe; 0 when none came back.
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Cached: another run (any worker) probed within the cache TTL.
	Cached    bool      `json:"cached,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
}

// DLQReplayInput is the input of ActivityDLQReplayStream: one DLQ, normalized.
type DLQReplayInput struct {
	Stream     string   `json:"stream"` // DLQMoog or DLQAlerter
	MaxEntries int      `json:"max_entries"`
	BatchSize  int      `json:"batch_size"`
	MaxReplays int      `json:"max_replays"`
	DryRun     bool     `json:"dry_run,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
	IDs        []string `json:"ids,omitempty"`
	Discard    bool     `json:"discard,omitempty"`
}

// DLQPoisonedEntry is an entry parked (or, in a dry run, to be parked) in the
// poison stream.
type DLQPoisonedEntry struct {
	DLQ      string `json:"dlq"` // DLQMoog or DLQAlerter
	ID       string `json:"id"`  // entry ID in that DLQ
	PoisonID string `json:"poison_id,omitempty"`
	Reason   string `json:"reason,omitempty"` // the dead-letter reason
	Error    string `json:"error,omitempty"`
	Replays  int64  `json:"replays"`
	// Cause is why it was parked: "max_replays" or "no_payload".
	Cause string `json:"cause"`
}

// DLQReplayResult is what ActivityDLQReplayStream did to one DLQ.
type DLQReplayResult struct {
	Stream   string `json:"stream"`
	Examined int    `json:"examined"`
	Replayed int    `json:"replayed"`
	Poisoned int    `json:"poisoned"`
	Skipped  int    `json:"skipped"` // left in place by the reasons filter
	// Discarded: deleted on the operator's request (DLQInput.Discard).
	Discarded int `json:"discarded,omitempty"`
	// NotFound: selected ids (DLQInput.IDs) no longer in the stream.
	NotFound int `json:"not_found,omitempty"`
	// PoisonedEntries lists the first DLQMaxReportedPoison parked entries.
	PoisonedEntries   []DLQPoisonedEntry `json:"poisoned_entries,omitempty"`
	PoisonedTruncated bool               `json:"poisoned_truncated,omitempty"`
}

// DLQDepthsInput is the input of ActivityDLQRecordDepths.
type DLQDepthsInput struct {
	// MoogSkipped: the moog DLQ was not replayed because Moogsoft is
	// unhealthy; its entries (up to MaxEntries) count as skipped_unhealthy.
	MoogSkipped bool `json:"moog_skipped,omitempty"`
	MaxEntries  int  `json:"max_entries"`
	DryRun      bool `json:"dry_run,omitempty"`
	// Succeeded: every step before this last one succeeded, so the run
	// succeeds when the depths are recorded (a non-dry run then sets
	// mutt_dlq_remediation_last_success_timestamp_seconds).
	Succeeded bool `json:"succeeded,omitempty"`
	// StartedAt is when the run started (workflow time), for the Python
	// MUTT's mutt_remediation_loop_duration_seconds. Zero in histories
	// recorded before it existed: no duration is observed then.
	StartedAt time.Time `json:"started_at,omitzero"`
}

// DLQDepths is the length of every dead-letter stream after the run.
type DLQDepths struct {
	Moog             int64 `json:"moog"`
	Alerter          int64 `json:"alerter"`
	Poison           int64 `json:"poison"`
	SkippedUnhealthy int   `json:"skipped_unhealthy"`
}

// DLQStreamResult is the outcome for one DLQ in the workflow result.
type DLQStreamResult struct {
	Stream   string `json:"stream"`
	Examined int    `json:"examined"`
	Replayed int    `json:"replayed"`
	Poisoned int    `json:"poisoned"`
	Skipped  int    `json:"skipped"`
	// Discarded and NotFound: see DLQReplayResult.
	Discarded int `json:"discarded,omitempty"`
	NotFound  int `json:"not_found,omitempty"`
	// MoogHealthy is set on the moog DLQ only, the one gated on it.
	MoogHealthy *bool `json:"moog_healthy,omitempty"`
	// SkippedUnhealthy counts the entries left because Moogsoft was unhealthy.
	SkippedUnhealthy int   `json:"skipped_unhealthy,omitempty"`
	Depth            int64 `json:"depth"` // entries left after the run
}

// DLQResult is the result of DLQRemediationWorkflow.
type DLQResult struct {
	DryRun     bool              `json:"dry_run"`
	Discard    bool              `json:"discard,omitempty"`
	MaxReplays int               `json:"max_replays"`
	MoogHealth *DLQMoogHealth    `json:"moog_health,omitempty"` // nil when the moog DLQ was not selected
	Streams    []DLQStreamResult `json:"streams"`
	// Poisoned lists the first DLQMaxReportedPoison entries parked by this
	// run, over every stream.
	Poisoned          []DLQPoisonedEntry `json:"poisoned"`
	PoisonedTruncated bool               `json:"poisoned_truncated,omitempty"`
	PoisonDepth       int64              `json:"poison_depth"`
}

// dlqActivityOptions: replaying a large DLQ can take a while, so the replay
// heartbeats once per batch and a dead worker is noticed within a minute; the
// retry resumes from the last heartbeat. The short activities finish well
// within the heartbeat timeout without heartbeating.
func dlqActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{DLQErrInvalidInput},
		},
	}
}

// DLQErrInvalidInput is the ApplicationError type of a rejected input.
const DLQErrInvalidInput = "InvalidInput"

// DLQRemediationWorkflow checks Moogsoft's health and, when it is healthy,
// replays the moog DLQ into the alert stream; the alerter DLQ is replayed
// into the ingest stream whatever Moogsoft's state (it does not depend on
// it). Entries already replayed MaxReplays times are parked in the poison
// stream and reported instead of bouncing forever.
func DLQRemediationWorkflow(ctx workflow.Context, in DLQInput) (DLQResult, error) {
	log := workflow.GetLogger(ctx)
	in, err := in.normalize()
	if err != nil {
		return DLQResult{}, temporal.NewNonRetryableApplicationError("invalid DLQ remediation input: "+err.Error(), DLQErrInvalidInput, err)
	}
	ctx = workflow.WithActivityOptions(ctx, dlqActivityOptions())
	started := workflow.Now(ctx)
	res := DLQResult{DryRun: in.DryRun, Discard: in.Discard, MaxReplays: in.MaxReplays, Poisoned: []DLQPoisonedEntry{}}

	// A discard sends nothing to Moogsoft, so it does not wait for it.
	moogHealthy := false
	if slices.Contains(in.Streams, DLQMoog) && !in.Discard {
		var h DLQMoogHealth
		if err := workflow.ExecuteActivity(ctx, ActivityDLQCheckMoogHealth).Get(ctx, &h); err != nil {
			// Not knowing is not healthy; the alerter DLQ still gets its turn.
			log.Warn("moogsoft health check failed; moog DLQ not replayed", "err", err)
			h = DLQMoogHealth{Detail: "health check failed: " + err.Error(), CheckedAt: workflow.Now(ctx).UTC()}
		}
		res.MoogHealth = &h
		moogHealthy = h.Healthy
	}

	var errs []error
	for _, s := range in.Streams {
		sr := DLQStreamResult{Stream: s}
		if s == DLQMoog && !in.Discard {
			sr.MoogHealthy = &moogHealthy
			if !moogHealthy {
				res.Streams = append(res.Streams, sr)
				continue
			}
		}
		var r DLQReplayResult
		err := workflow.ExecuteActivity(ctx, ActivityDLQReplayStream, DLQReplayInput{
			Stream: s, MaxEntries: in.MaxEntries, BatchSize: in.BatchSize, MaxReplays: in.MaxReplays,
			DryRun: in.DryRun, Reasons: in.Reasons, IDs: in.IDs, Discard: in.Discard,
		}).Get(ctx, &r)
		if err != nil {
			// The other stream still gets its turn; the run fails at the end
			// so the failure shows in Temporal.
			errs = append(errs, fmt.Errorf("replay %s DLQ: %w", s, err))
		}
		sr.Examined, sr.Replayed, sr.Poisoned, sr.Skipped = r.Examined, r.Replayed, r.Poisoned, r.Skipped
		sr.Discarded, sr.NotFound = r.Discarded, r.NotFound
		res.Streams = append(res.Streams, sr)
		for _, p := range r.PoisonedEntries {
			if len(res.Poisoned) == DLQMaxReportedPoison {
				res.PoisonedTruncated = true
				break
			}
			res.Poisoned = append(res.Poisoned, p)
		}
		res.PoisonedTruncated = res.PoisonedTruncated || r.PoisonedTruncated
	}

	var depths DLQDepths
	moogSkipped := slices.Contains(in.Streams, DLQMoog) && !moogHealthy && !in.Discard
	err = workflow.ExecuteActivity(ctx, ActivityDLQRecordDepths, DLQDepthsInput{
		MoogSkipped: moogSkipped, MaxEntries: in.MaxEntries, DryRun: in.DryRun, Succeeded: len(errs) == 0,
		StartedAt: started,
	}).Get(ctx, &depths)
	if err != nil {
		errs = append(errs, fmt.Errorf("record DLQ depths: %w", err))
	}
	res.PoisonDepth = depths.Poison
	for i := range res.Streams {
		switch res.Streams[i].Stream {
		case DLQMoog:
			res.Streams[i].Depth = depths.Moog
			if moogSkipped {
				res.Streams[i].SkippedUnhealthy = depths.SkippedUnhealthy
			}
		case DLQAlerter:
			res.Streams[i].Depth = depths.Alerter
		}
	}

	// The outcome in the run's memo, so the Temporal UI (and the console's
	// jobs page) show it without opening the result. Versioned: runs recorded
	// before it replay without the memo command.
	if workflow.GetVersion(ctx, "dlq-outcome-memo", workflow.DefaultVersion, 1) == 1 {
		outcome, counts := res.outcome()
		if err := workflow.UpsertMemo(ctx, map[string]any{"outcome": outcome, "counts": counts}); err != nil {
			log.Warn("set the outcome memo", "err", err)
		}
	}
	for _, s := range res.Streams {
		log.Info("DLQ remediation", "stream", s.Stream, "examined", s.Examined, "replayed", s.Replayed,
			"poisoned", s.Poisoned, "skipped", s.Skipped, "discarded", s.Discarded, "not_found", s.NotFound, "skipped_unhealthy", s.SkippedUnhealthy,
			"depth", s.Depth, "dry_run", in.DryRun)
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	return res, nil
}

// outcome summarises a run for its memo: one line and the totals over every
// stream it worked on.
func (r DLQResult) outcome() (string, map[string]int64) {
	counts := map[string]int64{}
	for _, s := range r.Streams {
		counts["examined"] += int64(s.Examined)
		counts["replayed"] += int64(s.Replayed)
		counts["poisoned"] += int64(s.Poisoned)
		counts["discarded"] += int64(s.Discarded)
		counts["skipped"] += int64(s.Skipped + s.SkippedUnhealthy)
		counts["not_found"] += int64(s.NotFound)
		counts["left"] += s.Depth
	}
	line := fmt.Sprintf("replayed %d, parked %d, discarded %d, left %d", counts["replayed"], counts["poisoned"],
		counts["discarded"], counts["left"])
	if r.MoogHealth != nil && !r.MoogHealth.Healthy {
		line += " (moogsoft unhealthy: moog DLQ not replayed)"
	}
	if r.DryRun {
		line = "dry run: " + line
	}
	return line, counts
}
