// Package vaulttest is an in-process Vault for tests: an httptest server that
// implements Vault's documented HTTP API for exactly what MUTT's Vault client
// uses (KV v2 data and metadata under /v1/<mount>/data|metadata/<path> with
// check-and-set, X-Vault-Token checks, token lookup-self and renew-self with
// TTLs the SDK's lifetime watcher really renews, and AppRole login). No Vault
// server can be built on our machines (ADR 0011), so tests run against this
// unless VAULT_ADDR points at a real one.
//
// It is a non-test package so other packages' tests can import it; it must
// not be imported by production code, and it imports nothing from MUTT.
package vaulttest
