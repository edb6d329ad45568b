// Package stream is MUTT's reliable queue on Redis Streams (ADR 0001).
//
// A producer appends entries (one field, "d", holding the message); a consumer
// group gives every entry one owner; consumers read in batches, acknowledge in
// batches (XACK and XDEL together, so XLEN is the backlog), keep the lease on
// entries they still work on (XCLAIM JUSTID, which does not count a delivery),
// and continuously reclaim entries another consumer left idle past the
// visibility timeout (XAUTOCLAIM). An entry delivered more than MaxDeliveries
// times is a poison message and goes to the dead-letter stream with its reason.
//
// Every command touches a single key, so the package works on Redis Cluster.
// It knows nothing about what the messages mean. It lives under internal/
// because both planes use it: the hot-path stages, and the ops plane's DLQ
// remediation, the API's DLQ views and the migration (ADR 0043).
package stream
