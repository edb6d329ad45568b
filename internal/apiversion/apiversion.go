// Package apiversion holds the API version headers every /api response of
// MUTT carries, the admin API's and the ingestor's alike, so both answer a
// client the same way. It imports only the standard library.
package apiversion

import (
	"net/http"
	"slices"
	"strings"
)

// Versions and the v1 deprecation (RFC 9745 Deprecation, RFC 8594 Sunset).
const (
	Current         = "v2"
	DeprecatedV1    = "v1"
	SupportedHeader = "v1, v2"
	MigrationGuide  = "/docs/MIGRATION_v1_to_v2.md"
	// V1Sunset is the HTTP-date after which v1 may be removed: twelve months
	// after v2 shipped.
	V1Sunset = "Fri, 26 Nov 2027 00:00:00 GMT"
	// V1DeprecatedSince is "@" + Unix seconds of 2026-11-26T00:00:00Z, when v2 shipped.
	V1DeprecatedSince = "@1795651200"
)

// Supported lists the path versions in order.
var Supported = []string{"v1", "v2"}

// Set puts the version headers for a request path on h: /api/v1/… gets
// v1's (with Deprecation, Sunset and the migration guide Link), anything
// else under /api/ the current version's; other paths get none.
func Set(h http.Header, path string) {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return
	}
	version := Current
	if v, _, _ := strings.Cut(rest, "/"); slices.Contains(Supported, v) {
		version = v
	}
	h.Set("X-API-Version", version)
	h.Set("X-API-Supported-Versions", SupportedHeader)
	if version == DeprecatedV1 {
		h.Set("Deprecation", V1DeprecatedSince)
		h.Set("Sunset", V1Sunset)
		h.Set("Link", "<"+MigrationGuide+`>; rel="deprecation"; type="text/markdown"`)
	}
}
