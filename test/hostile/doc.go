// Package hostile attacks a running MUTT process set (ingestor, alerter,
// forwarder, admin API, Moogsoft simulator; built from this tree and started
// as child processes with their own database, key prefix and ports) the way
// a hostile or broken client would: random and malformed HTTP requests, huge
// and deeply nested bodies, invalid UTF-8, slow clients, connection floods,
// garbage syslog and SNMP datagrams, and every route without a key or with
// the read-only key. It asserts what a user would notice: no 5xx (except the
// documented 503 backpressure), no crash, bounded memory, listeners that
// still accept valid input, and no secret in any log line.
//
// It holds tests only and imports nothing that production code imports it
// back; run it with `go test -count=1 ./test/hostile/`.
package hostile
