// Package app assembles MUTT from configuration: it connects to Redis and
// PostgreSQL once, builds the ingestor, alerter and forwarder, the admin API,
// the syslog and SNMP-trap receivers, the worker's dependencies and, for
// development, the Moogsoft simulator, and runs any set of them in one process.
// cmd/mutt is a thin main that calls it (as Alertmanager's cmd/alertmanager
// calls its app package, ADR 0043), and the end-to-end tests use it too, so
// what the tests run is what operators run. Nothing but cmd/ and tests
// imports it.
package app
