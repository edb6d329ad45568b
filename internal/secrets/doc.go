// Package secrets is where MUTT's credentials come from: a Provider (Vault KV
// v2 in production, a writable file for development) holding the keys below,
// a Cache every process reads credentials from, and the rotation notice
// protocol that tells live processes to re-read them and confirm they can
// connect with the new ones (ADR 0011).
//
// Secret values never reach logs, metrics, Redis payloads or API responses:
// nothing in this package formats a value, and Snapshot's String method
// prints key names only.
package secrets
