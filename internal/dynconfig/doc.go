// Package dynconfig is MUTT's runtime configuration: a registry of known keys
// (type, default, range, which service reads it), values stored in Redis under
// mutt:config:<key>, and a per-process Store that serves the effective values
// from memory, reloads them every 5 s and at once on mutt:config:updates.
//
// Code reads a value through the key's typed handle (store.Int(MoogRateLimit),
// store.Duration(StreamVisibilityTimeout)), declared once with the registry, so
// a misspelt key does not compile (ADR 0044). Reads never touch Redis, so
// hot-path code may call the accessors per event.
package dynconfig
