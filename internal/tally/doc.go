// Package tally keeps small per-minute counters in Redis that every role of
// the hot path adds to (events accepted by source, refusals, matched,
// ignored, unhandled, dead-lettered, Moogsoft outcomes and latency) and that
// the admin API's live dashboard reads: the dashboard then shows the whole
// deployment, whichever process serves it (ADR 0030). Counts are kept in
// memory and flushed every few seconds, so the hot path pays no extra round
// trip per batch. It imports only keyspace and the Redis client.
package tally
