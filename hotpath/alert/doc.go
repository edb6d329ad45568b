// Package alert is MUTT's alerter: a pure rule engine (Engine, Compile,
// Fingerprint) and the loop (Alerter) that reads accepted events from the
// ingest stream, decides what each one means, writes the audit trail to
// PostgreSQL, counts unmatched events for meta-alerts, and hands alerts to the
// forwarder on the alert stream.
//
// The engine files (engine.go, prefilter.go, fingerprint.go) are pure: they
// import only the standard library and hotpath/event, never Redis, pgx, net
// or os packages, so the matching semantics can be tested and benchmarked
// without any server (TestEngineIsPure checks this). The other files are the
// loop and do the I/O. Nothing in this package imports another hot-path
// stage (ingest, forward) or anything under cmd/.
package alert
