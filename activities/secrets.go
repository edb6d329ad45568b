package activities

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mutt-ops/mutt/internal/redisconn"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/telemetry"
	"github.com/mutt-ops/mutt/workflows"
)

// Rotation state kept in the provider next to the secrets, per target (e.g.
// REDIS_PASS_ROTATION_ID). The marker makes every step idempotent and refuses
// a second rotation of the same target; PREVIOUS keeps the old Redis password
// from promotion until it is removed, so no step ever passes a secret through
// the workflow.
const (
	secretSuffixPrevious   = "_PREVIOUS"
	secretSuffixRotationID = "_ROTATION_ID"
	secretSuffixStage      = "_ROTATION_STAGE"

	secretStageNextStored = "next_stored"
	secretStagePromoted   = "promoted"
)

const (
	// secretDefaultRedisUser and secretDefaultDBUser are the dedicated
	// credentials setup creates; rotation never touches "default" or a superuser.
	secretDefaultRedisUser = "mutt"
	secretDefaultDBUser    = "mutt_app"
	// secretCASAttempts bounds the re-reads after a check-and-set conflict
	// within one attempt; the activity's retry policy takes over after that.
	secretCASAttempts = 5
	// secretPollInterval is how often verification looks at the acks;
	// secretRepublishEvery re-sends the notice to instances that have not
	// answered yet (pub/sub delivers at most once, and instances come and go).
	secretPollInterval   = 250 * time.Millisecond
	secretRepublishEvery = 5 * time.Second
	// secretAckTTL keeps a rotation's acks around for inspection, then lets them go.
	secretAckTTL = 7 * 24 * time.Hour
)

// secretSlot names the provider keys of one target.
type secretSlot struct {
	current, next, previous, rotationID, stage string
}

type secretMetrics struct {
	rotations   *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

func newSecretMetrics(reg prometheus.Registerer) (*secretMetrics, error) {
	m := &secretMetrics{
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutt_secret_rotations_total",
			Help: "Secret rotations finished by this worker, by target and outcome: success, failed (not rolled back), compensated (failed and rolled back).",
		}, []string{"target", "outcome"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mutt_secret_rotation_last_success_timestamp_seconds",
			Help: "Unix time of the last successful rotation of a target seen by this worker.",
		}, []string{"target"}),
	}
	if err := telemetry.Register(reg, "secret rotation metrics", m.rotations, m.lastSuccess); err != nil {
		return nil, err
	}
	// Every series exists from the start, so "no success yet" is visible.
	for _, t := range secrets.Targets() {
		for _, o := range []string{workflows.SecretOutcomeSuccess, workflows.SecretOutcomeFailed, workflows.SecretOutcomeCompensated} {
			m.rotations.WithLabelValues(t, o)
		}
	}
	return m, nil
}

type secretActivities struct {
	activityGroup[*secretMetrics]
}

func registerSecrets(r Registry, d *Deps) error {
	g, err := newActivityGroup(d, "secret_rotation", newSecretMetrics)
	if err != nil {
		return err
	}
	a := &secretActivities{g}
	registerAs(r, map[string]any{
		workflows.ActivitySecretPreflight:     a.Preflight,
		workflows.ActivitySecretStoreNext:     a.StoreNext,
		workflows.ActivitySecretApplyNext:     a.ApplyNext,
		workflows.ActivitySecretNotifyVerify:  a.NotifyVerify,
		workflows.ActivitySecretPromote:       a.Promote,
		workflows.ActivitySecretRemoveOld:     a.RemoveOld,
		workflows.ActivitySecretCompensate:    a.Compensate,
		workflows.ActivitySecretRecordOutcome: a.RecordOutcome,
	})
	return nil
}

// secretErr is an application error of one of the workflows.SecretErr* types
// (the workflow's retry policies decide which are retried).
func secretErr(typ, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), typ)
}

// redact removes secret values from a message (Redis echoes an ACL modifier,
// password included, in its errors).
func redact(msg string, values ...string) string {
	for _, v := range values {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}

// fingerprint identifies a value in logs, results and notices without revealing it.
func fingerprint(v string) string { return secrets.Fingerprint(v) }

// generatePassword returns a fresh random password: URL-safe base64 (safe
// in connection URLs).
func generatePassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (a *secretActivities) provider() (secrets.Provider, error) {
	if a.d.Secrets == nil {
		return nil, secretErr(workflows.SecretErrInvalid, "no secrets provider configured on the worker (Vault or the secrets file)")
	}
	return a.d.Secrets, nil
}

func (a *secretActivities) read(ctx context.Context) (secrets.Snapshot, error) {
	p, err := a.provider()
	if err != nil {
		return secrets.Snapshot{}, err
	}
	s, err := p.Read(ctx)
	if err != nil {
		return secrets.Snapshot{}, fmt.Errorf("read secrets from %s: %w", p.Name(), err)
	}
	return s, nil
}

// update is a check-and-set read-modify-write: fn gets a fresh snapshot and
// returns the values to write, or nil to write nothing. A conflicting writer
// makes it read again.
func (a *secretActivities) update(ctx context.Context, fn func(s secrets.Snapshot) (map[string]string, error)) (int, bool, error) {
	p, err := a.provider()
	if err != nil {
		return 0, false, err
	}
	for range secretCASAttempts {
		s, err := a.read(ctx)
		if err != nil {
			return 0, false, err
		}
		values, err := fn(s)
		if err != nil || values == nil {
			return s.Version, false, err
		}
		for k, v := range values {
			if v == "" {
				delete(values, k) // "" means absent: keep the set clean
			}
		}
		v, err := p.Write(ctx, values, s.Version)
		if errors.Is(err, secrets.ErrCASMismatch) {
			a.log.Info("secrets changed while rotating; reading again", "version", s.Version)
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("write secrets to %s: %w", p.Name(), err)
		}
		return v, true, nil
	}
	return 0, false, fmt.Errorf("write secrets: still conflicting after %d check-and-set attempts", secretCASAttempts)
}

// stepFor is how every step starts: the backend of target and the provider
// keys it rotates.
func (a *secretActivities) stepFor(target string) (secretBackend, secretSlot, error) {
	b, err := a.backendFor(target)
	if err != nil {
		return nil, secretSlot{}, err
	}
	return b, b.slot(), nil
}

// stepRead is stepFor plus a fresh snapshot of the provider.
func (a *secretActivities) stepRead(ctx context.Context, target string) (secretBackend, secretSlot, secrets.Snapshot, error) {
	b, slot, err := a.stepFor(target)
	if err != nil {
		return nil, slot, secrets.Snapshot{}, err
	}
	s, err := a.read(ctx)
	if err != nil {
		return nil, slot, secrets.Snapshot{}, err
	}
	return b, slot, s, nil
}

// written ends a step whose provider write went through update: res gets
// the version written (or read, when the step was already done), and an
// actual write is logged as msg.
func (a *secretActivities) written(in workflows.SecretStepInput, res workflows.SecretStepResult, v int, wrote bool, err error, msg string) (workflows.SecretStepResult, error) {
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	res.Version = v
	if wrote {
		a.log.Info(msg, "target", in.Target, "rotation_id", in.RotationID, "version", v, "fingerprint", res.Fingerprint)
	}
	return res, nil
}

// checkFree refuses to start when another rotation (or an unmarked NEXT) is
// in the way; ok is true when this rotation already owns the slot.
func checkFree(s secrets.Snapshot, slot secretSlot, target, rotationID string) (owned bool, err error) {
	switch marker := s.Get(slot.rotationID); {
	case marker == rotationID:
		return true, nil
	case marker != "":
		return false, secretErr(workflows.SecretErrConflict,
			"rotation %s of %s is in flight (stage %q, see %s/%s in the provider); wait for it to finish, or, if that run "+
				"is over (temporal workflow list --query \"RunId='%s'\"), clear its stale marker as "+
				"docs/SECRET_ROTATION_PROCEDURE.md says",
			marker, target, s.Get(slot.stage), slot.rotationID, slot.stage, marker)
	case s.Get(slot.next) != "":
		return false, secretErr(workflows.SecretErrConflict,
			"%s already holds a value that no rotation put there; refusing to overwrite it (clear it once nothing relies on it)", slot.next)
	}
	return false, nil
}

// Preflight checks that the rotation can start, changing nothing.
func (a *secretActivities) Preflight(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, s, err := a.stepRead(ctx, in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	if _, err := checkFree(s, slot, in.Target, in.RotationID); err != nil {
		return workflows.SecretStepResult{}, err
	}
	if err := b.check(s); err != nil {
		return workflows.SecretStepResult{}, err
	}
	notes := []string{fmt.Sprintf("%s provider at version %d", a.d.Secrets.Name(), s.Version)}
	if s.Get(slot.current) == "" {
		notes = append(notes, slot.current+" is empty: the rotation creates the first value")
	}
	note, err := b.prepare(ctx, s)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	return workflows.SecretStepResult{Version: s.Version, Detail: strings.Join(notes, "; ")}, nil
}

// StoreNext generates the new value and stores it as NEXT, marked with the
// rotation id. A retry finds the marker and stores nothing new.
func (a *secretActivities) StoreNext(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, err := a.stepFor(in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	value, err := b.generate()
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	var res workflows.SecretStepResult
	v, wrote, err := a.update(ctx, func(s secrets.Snapshot) (map[string]string, error) {
		owned, err := checkFree(s, slot, in.Target, in.RotationID)
		if err != nil {
			return nil, err
		}
		if owned {
			res = workflows.SecretStepResult{AlreadyDone: true, Fingerprint: fingerprint(s.Get(slot.next))}
			if s.Get(slot.stage) == secretStagePromoted {
				res.Fingerprint = fingerprint(s.Get(slot.current))
			}
			return nil, nil
		}
		if err := b.check(s); err != nil {
			return nil, err
		}
		values := maps.Clone(s.Values)
		if values == nil {
			values = map[string]string{}
		}
		values[slot.next] = value
		values[slot.rotationID] = in.RotationID
		values[slot.stage] = secretStageNextStored
		res = workflows.SecretStepResult{Fingerprint: fingerprint(value), Detail: "stored " + slot.next}
		return values, nil
	})
	return a.written(in, res, v, wrote, err, "new secret stored as next")
}

// owned reads the snapshot and checks that this rotation holds the slot at stage.
func (a *secretActivities) owned(ctx context.Context, slot secretSlot, in workflows.SecretStepInput, stage string) (secrets.Snapshot, error) {
	s, err := a.read(ctx)
	if err != nil {
		return s, err
	}
	if got := s.Get(slot.rotationID); got != in.RotationID {
		return s, secretErr(workflows.SecretErrConflict, "%s is not held by this rotation (held by %q)", slot.rotationID, got)
	}
	if got := s.Get(slot.stage); got != stage {
		return s, secretErr(workflows.SecretErrConflict, "rotation of %s is at stage %q, not %q", in.Target, got, stage)
	}
	return s, nil
}

// ApplyNext makes the backend accept NEXT. Redis: added next to the old
// password (both work until the old one is removed). PostgreSQL: the role's
// password (one per role: new connections with CURRENT fail from here, and the
// connectors fall back to NEXT). API keys: nothing (services accept CURRENT
// and NEXT once they re-read the secrets). Idempotent.
func (a *secretActivities) ApplyNext(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, err := a.stepFor(in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	s, err := a.owned(ctx, slot, in, secretStageNextStored)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	next := s.Get(slot.next)
	if next == "" {
		return workflows.SecretStepResult{}, secretErr(workflows.SecretErrConflict, "%s is empty", slot.next)
	}
	res := workflows.SecretStepResult{Version: s.Version, Fingerprint: fingerprint(next)}
	if res.Detail, err = b.apply(ctx, s, next); err != nil {
		return res, err
	}
	a.log.Info("new secret applied", "target", in.Target, "rotation_id", in.RotationID, "fingerprint", res.Fingerprint)
	return res, nil
}

type secretVerifyProgress struct {
	Deadline time.Time `json:"deadline"`
	Acked    int       `json:"acked"`
	Pending  int       `json:"pending"`
}

// NotifyVerify publishes the notice and waits until every live instance that
// uses the target acked it with ok=true. A refusal, or instances still silent
// at the deadline, fail the step with their ids and messages.
func (a *secretActivities) NotifyVerify(ctx context.Context, in workflows.SecretVerifyInput) (workflows.SecretStepResult, error) {
	_, slot, err := a.stepFor(in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	if a.d.Redis == nil {
		return workflows.SecretStepResult{}, secretErr(workflows.SecretErrInvalid, "no Redis client configured on the worker")
	}
	// The notice names the value to prove by its fingerprint, so an instance
	// that read an older version of the provider cannot confirm vacuously
	// (for API keys, "the cache holds a key" is true before and after).
	s, err := a.read(ctx)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	expected := s.Get(slot.current)
	if in.Expect == "next" {
		expected = s.Get(slot.next)
	}
	notice := secrets.Notice{RotationID: in.RotationID, Target: in.Target, Stage: in.Stage, Expect: in.Expect,
		Fingerprint: fingerprint(expected)}
	ackKey := a.d.Keys.RotationAcks(notice.AckKey())
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = workflows.SecretDefaultVerifyTimeout
	}
	progress := secretVerifyProgress{Deadline: time.Now().Add(timeout)}
	// Before promotion the timeout spans the attempts (a worker crash does
	// not extend it); after promotion every retry waits afresh.
	if !in.Retryable && activity.HasHeartbeatDetails(ctx) {
		var prev secretVerifyProgress
		if activity.GetHeartbeatDetails(ctx, &prev) == nil && !prev.Deadline.IsZero() {
			progress.Deadline = prev.Deadline
		}
	}
	// Refusals of an earlier attempt are asked again.
	acks, err := a.readAcks(ctx, ackKey)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	for id, ack := range acks {
		if !ack.OK {
			if err := a.d.Redis.HDel(ctx, ackKey, id).Err(); err != nil {
				return workflows.SecretStepResult{}, fmt.Errorf("clear refusal of %s: %w", id, err)
			}
		}
	}
	publish := func() error {
		if err := a.d.Redis.Publish(ctx, a.d.Keys.SecretsRotated(), secrets.Marshal(notice)).Err(); err != nil {
			return fmt.Errorf("publish rotation notice: %w", err)
		}
		return nil
	}
	if err := publish(); err != nil {
		return workflows.SecretStepResult{}, err
	}
	a.log.Info("rotation notice published", "target", in.Target, "rotation_id", in.RotationID, "stage", in.Stage, "expect", in.Expect)
	lastPublish := time.Now()
	tick := time.NewTicker(secretPollInterval)
	defer tick.Stop()
	for {
		live, err := a.liveInstances(ctx, in.Target)
		if err != nil {
			return workflows.SecretStepResult{}, err
		}
		acks, err := a.readAcks(ctx, ackKey)
		if err != nil {
			return workflows.SecretStepResult{}, err
		}
		var acked, pending, refused []string
		for _, id := range live {
			ack, ok := acks[id]
			switch {
			case !ok:
				pending = append(pending, id)
			case ack.OK:
				acked = append(acked, id)
			default:
				refused = append(refused, fmt.Sprintf("%s: %s", id, ack.Error))
			}
		}
		progress.Acked, progress.Pending = len(acked), len(pending)
		activity.RecordHeartbeat(ctx, progress)
		if len(refused) > 0 {
			return workflows.SecretStepResult{}, secretErr(workflows.SecretErrVerify,
				"%d instance(s) cannot use the %s credential after %s: %s", len(refused), in.Expect, in.Stage, strings.Join(refused, "; "))
		}
		if len(pending) == 0 {
			if len(live) > 0 {
				_ = a.d.Redis.Expire(ctx, ackKey, secretAckTTL).Err() // housekeeping only
			}
			res := workflows.SecretStepResult{Instances: acked}
			if len(live) == 0 {
				res.Detail = "no live instance uses " + in.Target + "; nothing to verify"
			} else {
				res.Detail = fmt.Sprintf("%d instance(s) confirmed the %s credential", len(acked), in.Expect)
			}
			return res, nil
		}
		if time.Now().After(progress.Deadline) {
			return workflows.SecretStepResult{}, secretErr(workflows.SecretErrVerify,
				"%d instance(s) did not confirm the %s credential after %s within %s: %s",
				len(pending), in.Expect, in.Stage, timeout, strings.Join(pending, ", "))
		}
		if time.Since(lastPublish) >= secretRepublishEvery {
			if err := publish(); err != nil {
				return workflows.SecretStepResult{}, err
			}
			lastPublish = time.Now()
		}
		select {
		case <-ctx.Done():
			return workflows.SecretStepResult{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// liveInstances lists the advertised instances that use target, sorted.
func (a *secretActivities) liveInstances(ctx context.Context, target string) ([]string, error) {
	keys, err := redisconn.ScanKeys(ctx, a.d.Redis, a.d.Keys.InstancesPattern(), 200)
	if err != nil {
		return nil, fmt.Errorf("list live instances: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := redisconn.MGet(ctx, a.d.Redis, keys...)
	if err != nil {
		return nil, fmt.Errorf("read live instances: %w", err)
	}
	var out []string
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // expired between SCAN and MGET: no longer live
		}
		var inst secrets.Instance
		if err := json.Unmarshal([]byte(raw), &inst); err != nil {
			a.log.Warn("unreadable instance advertisement", "key", keys[i], "err", err)
			continue
		}
		if slices.Contains(inst.Uses, target) {
			out = append(out, inst.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (a *secretActivities) readAcks(ctx context.Context, key string) (map[string]secrets.Ack, error) {
	raw, err := a.d.Redis.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("read rotation acks: %w", err)
	}
	out := make(map[string]secrets.Ack, len(raw))
	for id, v := range raw {
		var ack secrets.Ack
		if err := json.Unmarshal([]byte(v), &ack); err != nil {
			ack = secrets.Ack{Instance: id, Error: "unreadable ack"}
		}
		out[id] = ack
	}
	return out, nil
}

// Promote makes NEXT the CURRENT value in one check-and-set write. Redis: the
// old password is kept as REDIS_PASS_PREVIOUS until RemoveOld. API keys: the
// old key moves to NEXT, so services keep accepting it during the grace
// period. PostgreSQL: NEXT is cleared (the old password is already gone).
func (a *secretActivities) Promote(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, err := a.stepFor(in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	var res workflows.SecretStepResult
	v, wrote, err := a.update(ctx, func(s secrets.Snapshot) (map[string]string, error) {
		if s.Get(slot.rotationID) == in.RotationID && s.Get(slot.stage) == secretStagePromoted {
			res = workflows.SecretStepResult{AlreadyDone: true, Fingerprint: fingerprint(s.Get(slot.current))}
			return nil, nil
		}
		if s.Get(slot.rotationID) != in.RotationID || s.Get(slot.stage) != secretStageNextStored || s.Get(slot.next) == "" {
			return nil, secretErr(workflows.SecretErrConflict, "cannot promote %s: not held by this rotation at stage %q with a NEXT value", in.Target, secretStageNextStored)
		}
		values := maps.Clone(s.Values)
		old, next := s.Get(slot.current), s.Get(slot.next)
		values[slot.current] = next
		b.promote(values, old)
		values[slot.stage] = secretStagePromoted
		res = workflows.SecretStepResult{Fingerprint: fingerprint(next), Detail: slot.next + " promoted to " + slot.current}
		return values, nil
	})
	return a.written(in, res, v, wrote, err, "secret promoted")
}

// RemoveOld ends the rotation: Redis drops the old password from the ACL
// user, API keys stop accepting the old key, and the rotation marker is
// cleared. A retry after the marker is gone does nothing.
func (a *secretActivities) RemoveOld(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, s, err := a.stepRead(ctx, in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	if s.Get(slot.rotationID) == "" {
		return workflows.SecretStepResult{Version: s.Version, AlreadyDone: true, Detail: "rotation already finished"}, nil
	}
	if s, err = a.owned(ctx, slot, in, secretStagePromoted); err != nil {
		return workflows.SecretStepResult{}, err
	}
	detail, err := b.remove(ctx, s)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	v, _, err := a.update(ctx, func(s secrets.Snapshot) (map[string]string, error) {
		if s.Get(slot.rotationID) != in.RotationID {
			return nil, nil // a retry: already finished
		}
		values := maps.Clone(s.Values)
		values[slot.previous] = ""
		b.finish(values)
		values[slot.rotationID] = ""
		values[slot.stage] = ""
		return values, nil
	})
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	a.log.Info("old secret removed", "target", in.Target, "rotation_id", in.RotationID, "version", v)
	return workflows.SecretStepResult{Version: v, Detail: detail}, nil
}

// Compensate undoes a rotation that failed before promotion, backend first
// (it needs the NEXT value), then the provider: NEXT back to empty (StoreNext
// only ever fills an empty NEXT) and the marker cleared. It refuses after
// promotion. Idempotent: without this rotation's marker there is nothing left.
func (a *secretActivities) Compensate(ctx context.Context, in workflows.SecretStepInput) (workflows.SecretStepResult, error) {
	b, slot, s, err := a.stepRead(ctx, in.Target)
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	if s.Get(slot.rotationID) != in.RotationID {
		return workflows.SecretStepResult{Version: s.Version, AlreadyDone: true, Detail: "nothing of this rotation left to undo"}, nil
	}
	if s.Get(slot.stage) == secretStagePromoted {
		return workflows.SecretStepResult{}, secretErr(workflows.SecretErrConflict, "rotation of %s was promoted: not rolling back", in.Target)
	}
	var notes []string
	if in.UndoBackend {
		if notes, err = b.restore(ctx, s, s.Get(slot.next)); err != nil {
			return workflows.SecretStepResult{}, err
		}
	}
	v, _, err := a.update(ctx, func(s secrets.Snapshot) (map[string]string, error) {
		if s.Get(slot.rotationID) != in.RotationID {
			return nil, nil
		}
		if s.Get(slot.stage) == secretStagePromoted {
			return nil, secretErr(workflows.SecretErrConflict, "rotation of %s was promoted: not rolling back", in.Target)
		}
		values := maps.Clone(s.Values)
		values[slot.next] = ""
		values[slot.rotationID] = ""
		values[slot.stage] = ""
		return values, nil
	})
	if err != nil {
		return workflows.SecretStepResult{}, err
	}
	notes = append(notes, slot.next+" cleared")
	// Instances that already switched to NEXT go back to CURRENT; best effort,
	// their connectors fall back to CURRENT anyway.
	n := secrets.Notice{RotationID: in.RotationID, Target: in.Target, Stage: "compensated", Expect: "current"}
	if a.d.Redis != nil {
		if err := a.d.Redis.Publish(ctx, a.d.Keys.SecretsRotated(), secrets.Marshal(n)).Err(); err != nil {
			a.log.Warn("publish compensation notice", "target", in.Target, "err", err)
		}
	}
	a.log.Warn("rotation rolled back", "target", in.Target, "rotation_id", in.RotationID, "version", v)
	return workflows.SecretStepResult{Version: v, Detail: strings.Join(notes, "; ")}, nil
}

// RecordOutcome counts a finished rotation.
func (a *secretActivities) RecordOutcome(_ context.Context, in workflows.SecretOutcomeInput) error {
	a.m.rotations.WithLabelValues(in.Target, in.Outcome).Inc()
	if in.Outcome == workflows.SecretOutcomeSuccess {
		a.m.lastSuccess.WithLabelValues(in.Target).Set(float64(a.d.Now().UnixNano()) / 1e9)
	}
	return nil
}
