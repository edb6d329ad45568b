// Package soak is MUTT's soak test: the roles as real processes (ingestor,
// alerter, forwarder, worker and the Moogsoft simulator, started the way
// `mutt bench` starts them, see bench.Start) under a fixed moderate load for a
// long time, with partition maintenance and retention scheduled every few
// minutes in a Temporal namespace of the run's own. Every sample records each
// process's resident memory, goroutines, open descriptors and sockets, the
// end-to-end latency of the window, the stream backlog, the PostgreSQL
// connections and the schedules' runs. At the end each series is judged flat
// or not (Judge: the trend over the second half against a tolerance) and a
// Markdown report with SVG plots is written (docs/soak/, docs/img/soak-*).
//
// `muttdev soak` and `make soak` run it; see docs/soak/README.md.
package soak
