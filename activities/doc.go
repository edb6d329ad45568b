// Package activities holds the Temporal activities of MUTT's ops plane: every
// piece of I/O the workflows need (PostgreSQL, Redis, Prometheus, Moogsoft,
// Vault). Activities are idempotent (a retry repeats nothing harmful) and
// heartbeat during long batches. They are registered under the names the
// workflows package declares and take and return its types.
package activities
