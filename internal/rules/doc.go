// Package rules is MUTT's pure rule engine: Compile builds an Engine from the
// alert rules, development hosts and device teams; Evaluate decides what an
// event means (the first matching rule in priority order, its environment,
// handling and team); Fingerprint buckets messages for meta-alerts; Analyze
// reports duplicate, shadowed and invalid rules.
//
// It imports only the standard library and internal/event — no Redis, pgx,
// network, files or clock — so the matching semantics are tested and
// benchmarked without any server (TestEngineIsPure checks what it links). The
// alerter (hotpath/alert), the admin API's rule analysis and draft test, and
// muttdev all run this one engine.
package rules
