package activities

import (
	"context"

	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/workflows"
)

// secretBackend is what one rotation target does beyond the provider
// bookkeeping the activities in secrets.go share (markers, stages,
// check-and-set writes, the verification notices and acks): one
// implementation per target, each in its own file (secrets_redis.go,
// secrets_postgres.go, secrets_apikey.go). Every method is idempotent, as
// the activities calling them are retried.
type secretBackend interface {
	// slot names the provider keys of the target.
	slot() secretSlot
	// generate returns a fresh value.
	generate() (string, error)
	// check refuses a snapshot the target cannot be rotated from (Preflight
	// and StoreNext, before anything is written).
	check(s secrets.Snapshot) error
	// prepare checks, changing nothing, that the backend can take the
	// rotation; the note goes into Preflight's detail ("" for none).
	prepare(ctx context.Context, s secrets.Snapshot) (note string, err error)
	// apply makes the backend accept next (ApplyNext).
	apply(ctx context.Context, s secrets.Snapshot, next string) (detail string, err error)
	// promote sets the provider values of promotion once CURRENT holds the
	// new value: what becomes of NEXT and of the old value.
	promote(values map[string]string, old string)
	// remove makes the backend refuse the old value (RemoveOld) and finish
	// sets the provider values that end the rotation.
	remove(ctx context.Context, s secrets.Snapshot) (detail string, err error)
	finish(values map[string]string)
	// restore undoes apply before promotion (Compensate): next is the
	// provider's NEXT; notes go into the detail.
	restore(ctx context.Context, s secrets.Snapshot, next string) (notes []string, err error)
}

// backendFor is the backend of target, or a SecretErrInvalid naming the targets.
func (a *secretActivities) backendFor(target string) (secretBackend, error) {
	switch target {
	case secrets.TargetRedis:
		return &redisSecretBackend{a: a}, nil
	case secrets.TargetPostgres:
		return &postgresSecretBackend{a: a}, nil
	case secrets.TargetIngestAPIKey:
		return apiKeySecretBackend{current: secrets.IngestAPIKey, next: secrets.IngestAPIKeyNext}, nil
	case secrets.TargetWebUIAPIKey:
		// Comma-separated admin keys are accepted by the API: rotation
		// would replace them all with one (apiKeySecretBackend.check).
		return apiKeySecretBackend{current: secrets.WebUIAPIKey, next: secrets.WebUIAPIKeyNext, single: true}, nil
	}
	return nil, secretErr(workflows.SecretErrInvalid, "unknown rotation target %q (want one of %v)", target, secrets.Targets())
}

// slotFor names the provider keys of target.
func slotFor(target string) (secretSlot, error) {
	b, err := (&secretActivities{}).backendFor(target)
	if err != nil {
		return secretSlot{}, err
	}
	return b.slot(), nil
}

// newSlot is the slot of CURRENT cur and NEXT next whose bookkeeping keys
// start with base (e.g. REDIS_PASS_ROTATION_ID).
func newSlot(cur, next, base string) secretSlot {
	return secretSlot{current: cur, next: next, previous: base + secretSuffixPrevious,
		rotationID: base + secretSuffixRotationID, stage: base + secretSuffixStage}
}
