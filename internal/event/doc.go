// Package event defines the two messages that travel through the hot path: the
// Envelope the ingestor puts on the ingest stream and the Alert the alerter puts
// on the alert stream. Both are JSON; the client's original object is carried
// as raw bytes so no stage re-encodes it.
//
// This package has no I/O and imports nothing but the standard library and
// internal/jsonenc (itself standard-library only). It lives under internal/
// because the API, the migration and the hot path all read it (ADR 0043).
package event
