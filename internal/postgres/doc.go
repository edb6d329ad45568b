// Package postgres opens MUTT's PostgreSQL pool: pool defaults, and the
// login role's password taken from the secrets Cache for every new
// connection, CURRENT then NEXT, so `ALTER ROLE … PASSWORD` during a rotation
// never fails an Acquire.
//
// It must not import hotpath, api or workers packages: it is used by all of
// them. Secret values never reach its logs, errors or metrics.
package postgres
