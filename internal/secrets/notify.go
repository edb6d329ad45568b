package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Targets of a rotation.
const (
	TargetRedis        = "redis"
	TargetPostgres     = "postgres"
	TargetIngestAPIKey = "ingest_api_key" // #nosec G101 -- a target name, not a credential
	TargetWebUIAPIKey  = "webui_api_key"  // #nosec G101 -- a target name, not a credential
)

// Targets lists every rotation target.
func Targets() []string {
	return []string{TargetRedis, TargetPostgres, TargetIngestAPIKey, TargetWebUIAPIKey}
}

// Notice is published on keys.SecretsRotated() when the secrets changed. Every
// live process re-reads its Cache, checks that it can open a new connection
// with the credential the notice names (for backends it uses), and writes an
// Ack into the hash keys.RotationAcks(n.AckKey()) (field = its instance id).
type Notice struct {
	RotationID string `json:"rotation_id"` // the workflow run; acks are collected under it
	Target     string `json:"target"`
	Stage      string `json:"stage"` // "next_stored", "promoted", "old_removed", "compensated"
	// Expect is which value the processes must prove they can use: "next"
	// (after the backend accepted the new credential) or "current".
	Expect string `json:"expect"`
	// Fingerprint identifies the value the rotation stored in that slot
	// (Fingerprint of it, never the value): a process whose cache holds
	// another value, e.g. from a stale read of the provider, refuses. Empty:
	// not compared (manual notices, compensation).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// AckKey is the suffix of keys.RotationAcks under which this notice's acks are
// collected: one hash per rotation and stage.
func (n Notice) AckKey() string { return n.RotationID + ":" + n.Stage }

// Ack is a process's answer to a Notice.
type Ack struct {
	Instance string    `json:"instance"`
	Role     string    `json:"role"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"` // never contains a secret
	Version  int       `json:"version"`         // secrets version it now uses
	At       time.Time `json:"at"`
}

// Instance is what a live process advertises at keys.Instance(id), with a TTL
// of InstanceTTL, refreshed every InstanceTTL/3: the rotation workflow waits
// for an Ack from each of them.
type Instance struct {
	ID      string    `json:"id"`
	Role    string    `json:"role"` // e.g. "ingestor,alerter"
	Uses    []string  `json:"uses"` // backends/targets it uses: redis, postgres, ingest_api_key, webui_api_key
	Started time.Time `json:"started"`
}

// InstanceTTL is how long an instance stays listed without a refresh.
const InstanceTTL = 15 * time.Second

// Marshal encodes v (Notice, Ack, Instance) as JSON.
func Marshal(v any) string {
	b, _ := json.Marshal(v) // these types always encode
	return string(b)
}

// Fingerprint identifies a secret value in logs, workflow results and
// notices without revealing it: the first 12 hex digits of its SHA-256 (the
// values are random 256-bit strings). "" for "".
func Fingerprint(v string) string {
	if v == "" {
		return ""
	}
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:6])
}
