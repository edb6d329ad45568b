// Package ingest is MUTT's HTTP ingestor: it authenticates clients, decodes
// and validates events (one JSON object, a JSON array of objects, or NDJSON),
// stamps each with an envelope (event ID, correlation ID, receive time),
// applies the global rate limit and the ingest backlog limit, and answers 200
// only once every event of the request is on the ingest stream in Redis.
//
// Server.Submit is the same path for the native receivers (syslog, SNMP
// traps): they stamp nothing themselves and get an *ingest.Refused when the
// rate limit, the backlog limit or Redis says no (ADR 0018).
//
// It may import the hot-path message and queue packages (hotpath/event,
// hotpath/stream) and the platform packages under internal/. It must not
// import the alerter, the forwarder, the admin API, PostgreSQL, or anything
// of the ops plane: the ingestor's only dependency at run time is Redis.
package ingest
