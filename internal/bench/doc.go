// Package bench is `mutt bench`: an end-to-end benchmark of the hot path as
// operators run it. It starts the ingestor, alerter, forwarder and the
// Moogsoft simulator as separate processes of the mutt binary (fresh database,
// fresh Redis key prefix, free ports), drives the ingestor over HTTP with
// batches of events that mostly match the seed rules, and reports events/s
// accepted, audited and delivered, end-to-end latency quantiles (ingest
// received_at → Moogsoft simulator), and each process's peak RSS.
package bench
