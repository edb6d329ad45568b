// Package migration adopts a running Python MUTT v2.x installation: its
// PostgreSQL database (FromPython: the Python tables are set aside in schema
// python_v25, MUTT's migrations run, the rows are copied into MUTT's tables,
// the event audit in resumable batches into monthly partitions, with row
// counts checked; Rollback puts the Python tables back; Finalize drops them)
// and its Redis (DrainRedis: the Python lists drained into MUTT's streams,
// clashing keys renamed out of the way, dynamic config translated).
//
// It is used by `mutt migrate from-python` only. It imports schema,
// internal/event, hotpath/ingest and internal packages; nothing imports it but
// cmd/mutt.
package migration
