// Package schema owns MUTT's PostgreSQL schema: the embedded, versioned SQL
// migrations and their migrator, monthly partitions of event_audit_log, and the
// example seed data. It imports only pgx.
package schema
