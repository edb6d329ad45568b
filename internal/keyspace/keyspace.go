// Package keyspace names every Redis key and channel MUTT uses, so that the
// layout (prefix, shards, Redis Cluster hash tags) is decided in one place.
//
// Stream shards carry a hash tag ({N}) so that shard N of the ingest stream and
// shard N of the alert stream live in the same Redis Cluster slot; every other
// key is touched alone by single-key commands or single-key Lua scripts.
package keyspace

import (
	"fmt"
	"strconv"
)

// DefaultPrefix is the prefix of every key unless MUTT_REDIS_PREFIX says otherwise.
const DefaultPrefix = "mutt:"

// Keys builds key names under one prefix. The zero value is not usable; use New.
type Keys struct {
	Prefix string
	Shards int
}

// New returns the key layout for prefix with shards stream shards (at least 1).
func New(prefix string, shards int) Keys {
	if shards < 1 {
		shards = 1
	}
	return Keys{Prefix: prefix, Shards: shards}
}

func (k Keys) shard(name string, shard int) string {
	return k.Prefix + "stream:" + name + ":{" + strconv.Itoa(shard) + "}"
}

// IngestStream is shard n of the accepted-events stream (consumer group "alerter").
func (k Keys) IngestStream(n int) string { return k.shard("ingest", n) }

// AlertStream is shard n of the alerts stream (consumer group "forwarder").
func (k Keys) AlertStream(n int) string { return k.shard("alerts", n) }

// IngestStreams lists every ingest shard.
func (k Keys) IngestStreams() []string { return k.all(k.IngestStream) }

// AlertStreams lists every alert shard.
func (k Keys) AlertStreams() []string { return k.all(k.AlertStream) }

func (k Keys) all(f func(int) string) []string {
	out := make([]string, k.Shards)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// AlerterDLQ holds events the alerter could not process.
func (k Keys) AlerterDLQ() string { return k.Prefix + "dlq:alerter" }

// MoogDLQ holds alerts Moogsoft rejected permanently.
func (k Keys) MoogDLQ() string { return k.Prefix + "dlq:moog" }

// SyslogDLQ holds syslog messages the receivers could not parse or accept,
// each with reason, error, raw bytes, source_ip and failed_at.
func (k Keys) SyslogDLQ() string { return k.Prefix + "dlq:syslog" }

// SNMPDLQ holds SNMP traps the receiver could not decode or accept.
func (k Keys) SNMPDLQ() string { return k.Prefix + "dlq:snmp" }

// PoisonDLQ holds dead letters DLQ remediation gave up on (replayed too often).
func (k Keys) PoisonDLQ() string { return k.Prefix + "dlq:poison" }

// Config is the key of one dynamic config value.
func (k Keys) Config(name string) string { return k.Prefix + "config:" + name }

// ConfigUpdates is the channel that announces a dynamic config change (payload: key name).
func (k Keys) ConfigUpdates() string { return k.Prefix + "config:updates" }

// RulesUpdates is the channel that tells every alerter to reload rules, dev hosts and teams.
func (k Keys) RulesUpdates() string { return k.Prefix + "rules:updates" }

// IngestRateLimit is the GCRA state shared by every ingestor.
func (k Keys) IngestRateLimit() string { return k.Prefix + "rate_limit:ingestor" }

// MoogRateLimit is the GCRA state shared by every forwarder.
func (k Keys) MoogRateLimit() string { return k.Prefix + "rate_limit:moog" }

// CircuitBreaker is the hash holding the shared Moogsoft breaker state.
func (k Keys) CircuitBreaker() string { return k.Prefix + "circuit_breaker:moogsoft:state" }

// Unhandled is the counter hash of one (host, fingerprint) pair of unmatched events.
func (k Keys) Unhandled(host, fingerprint string) string {
	return k.Prefix + "unhandled:" + host + ":" + fingerprint
}

// RateBucket is the dashboard's event counter for one UTC bucket; res is "1m", "1h" or "24h".
func (k Keys) RateBucket(res, bucket string) string {
	return fmt.Sprintf("%smetrics:%s:%s", k.Prefix, res, bucket)
}

// SecretsRotated is the channel of secrets.Notice messages.
func (k Keys) SecretsRotated() string { return k.Prefix + "secrets:rotated" }

// RotationAcks is the hash of acknowledgements (instance id → secrets.Ack) of one rotation notice.
func (k Keys) RotationAcks(rotationID string) string { return k.Prefix + "secrets:acks:" + rotationID }

// Instance is where a live process advertises itself (secrets.Instance, with a TTL).
func (k Keys) Instance(id string) string { return k.Prefix + "instances:" + id }

// InstancesPattern matches every advertised instance (SCAN).
func (k Keys) InstancesPattern() string { return k.Prefix + "instances:*" }

// Tally is the per-minute counter hash of one UTC minute (layout
// 2006-01-02T15:04) that every role adds to and the dashboard reads
// (package tally).
func (k Keys) Tally(minute string) string { return k.Prefix + "metrics:tally:" + minute }

// BreakerHistory is the capped stream of Moogsoft circuit breaker transitions
// (field state: open or closed; at: RFC 3339), newest last.
func (k Keys) BreakerHistory() string { return k.Prefix + "circuit_breaker:moogsoft:history" }
