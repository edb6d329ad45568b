// Package alert is MUTT's alerter: the loop (Alerter) that reads accepted
// events from the ingest stream, decides what each one means with the rule
// engine (internal/rules), writes the audit trail to PostgreSQL, counts
// unmatched events for meta-alerts, and hands alerts to the forwarder on the
// alert stream.
//
// The engine itself is pure and lives in internal/rules, so the compiler keeps
// the I/O here out of it. Nothing in this package imports another hot-path
// stage (ingest, forward) or anything under cmd/.
package alert
