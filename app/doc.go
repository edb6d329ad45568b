// Package pipeline assembles the hot path from configuration: it connects to
// Redis and PostgreSQL once, builds the ingestor, alerter and forwarder (and,
// for development, the Moogsoft simulator) and runs any set of them in one
// process. cmd/mutt and the end-to-end tests both use it, so what the tests
// run is what operators run.
package app
