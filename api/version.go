package api

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// API versions. v1 keeps the peer's payloads and is deprecated; v2 is current.
const (
	CurrentVersion  = "v2"
	DeprecatedV1    = "v1"
	SupportedHeader = "v1, v2"
	MigrationGuide  = "/docs/MIGRATION_v1_to_v2.md"
	// V1Sunset is the HTTP-date after which v1 may be removed: twelve months
	// after v2 shipped. It is a constant so every response and the docs agree.
	V1Sunset = "Fri, 26 Nov 2027 00:00:00 GMT"
	// v1DeprecatedSince is the RFC 9745 Deprecation value: "@" + Unix seconds
	// of the deprecation date (2026-11-26T00:00:00Z), when v2 shipped.
	v1DeprecatedSince = "@1795651200"
)

// supportedVersions lists the path versions in order.
var supportedVersions = []string{"v1", "v2"}

// apiVersionHeaders puts the version headers on every /api response, errors
// included — also 404s and 405s, which gin answers outside the version
// groups: /api/v1/… gets v1's (with Deprecation, Sunset and the migration
// guide Link), anything else under /api/ the current version's.
func apiVersionHeaders(c *gin.Context) {
	rest, ok := strings.CutPrefix(c.Request.URL.Path, "/api/")
	if !ok {
		return
	}
	version := CurrentVersion
	if v, _, _ := strings.Cut(rest, "/"); slices.Contains(supportedVersions, v) {
		version = v
	}
	h := c.Writer.Header()
	h.Set("X-API-Version", version)
	h.Set("X-API-Supported-Versions", SupportedHeader)
	if version == DeprecatedV1 {
		h.Set("Deprecation", v1DeprecatedSince)
		h.Set("Sunset", V1Sunset)
		h.Set("Link", "<"+MigrationGuide+`>; rel="deprecation"; type="text/markdown"`)
	}
}

// acceptVersion is the middleware of the /api/<version> groups: an
// Accept-Version naming a version this server does not have is a 400.
func acceptVersion(c *gin.Context) {
	if av := c.GetHeader("Accept-Version"); av != "" {
		if _, ok := normalizeVersion(av); !ok {
			abort(c, http.StatusBadRequest, errUnsupportedVersion,
				"Accept-Version: "+quoteShort(av)+" is not supported; supported versions: "+SupportedHeader)
			return
		}
	}
	c.Next()
}

// normalizeVersion accepts "v2", "2", "v2.0", "2.0" (any case) and returns "v2".
func normalizeVersion(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "v")
	s = strings.TrimSuffix(s, ".0")
	switch s {
	case "1":
		return "v1", true
	case "2":
		return "v2", true
	}
	return "", false
}

// quoteShort quotes a client value for an error message, cut to 64 bytes so
// a hostile header cannot bloat the response.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `'`) + `"`
}

// VersionInfo is the body of GET /api/v*/version.
type VersionInfo struct {
	Versions   []string          `json:"versions"`
	Current    string            `json:"current"`
	Requested  string            `json:"requested"`
	Deprecated []string          `json:"deprecated"`
	Sunset     map[string]string `json:"sunset"`
	Migration  string            `json:"migration_guide"`
	Build      BuildInfo         `json:"build"`
}

// BuildInfo is what the binary knows about itself.
type BuildInfo struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

func buildInfo() BuildInfo {
	b := BuildInfo{GoVersion: runtime.Version(), Version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (s *Server) registerVersion(g *gin.RouterGroup, version string) {
	g.GET("/version", func(c *gin.Context) {
		c.JSON(http.StatusOK, VersionInfo{
			Versions: supportedVersions, Current: CurrentVersion, Requested: version,
			Deprecated: []string{DeprecatedV1}, Sunset: map[string]string{DeprecatedV1: V1Sunset},
			Migration: MigrationGuide, Build: s.build,
		})
	})
}
