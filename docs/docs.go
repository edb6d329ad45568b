// Package docs embeds the documents the admin API serves: the v1 → v2
// migration guide its deprecation Link points to, and the API reference.
package docs

import "embed"

// Served holds the documents served at /docs/<name>.
//
//go:embed MIGRATION_v1_to_v2.md API_REFERENCE.md
var Served embed.FS
