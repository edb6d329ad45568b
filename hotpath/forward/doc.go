// Package forward is the forwarder stage of the hot path: it reads alerts from
// the alert stream shards (consumer group "forwarder") and delivers them to the
// Moogsoft webhook, at least once and never silently dropped.
//
// Delivery is shaped by state shared with every other forwarder through Redis:
// a global rate limit (GCRA, internal/ratelimit) that makes alerts wait, never
// drop, and a circuit breaker (a hash changed only by single-key Lua scripts on
// Redis time) that stops all traffic while Moogsoft is down without burning
// retries or dead-lettering anything; a Retry-After from Moogsoft holds every
// forwarder through the same hash until it has elapsed (ADR 0040). Retries
// are scheduled with exponential backoff and full jitter so one failing alert never blocks the others (nor
// do many: alerts waiting for a retry have a bound of their own, beyond which
// they are dead-lettered as retry_overflow; ADR 0007); permanent rejections
// go to the Moogsoft dead-letter stream with the status and a body excerpt.
//
// It must not import the other hot-path stages (ingest, alert), PostgreSQL, or
// the simulator (internal/moogsim, which only its tests use); the Moogsoft API
// key it is given never enters Redis.
package forward
