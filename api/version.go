package api

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mutt-ops/mutt/internal/apiversion"
)

// API versions. v1 keeps the peer's payloads and is deprecated; v2 is current.
// The values live in internal/apiversion, shared with the ingestor.
const (
	CurrentVersion    = apiversion.Current
	DeprecatedV1      = apiversion.DeprecatedV1
	SupportedHeader   = apiversion.SupportedHeader
	MigrationGuide    = apiversion.MigrationGuide
	V1Sunset          = apiversion.V1Sunset
	v1DeprecatedSince = apiversion.V1DeprecatedSince
)

// supportedVersions lists the path versions in order.
var supportedVersions = apiversion.Supported

// apiVersionHeaders puts the version headers on every /api response, errors
// included — also 404s and 405s, which gin answers outside the version groups.
func apiVersionHeaders(c *gin.Context) { apiversion.Set(c.Writer.Header(), c.Request.URL.Path) }

// acceptVersion is the middleware of the /api/<version> groups: an
// Accept-Version (or, as the Python MUTT's clients send it, X-API-Version)
// naming a version this server does not have is a 400.
func acceptVersion(c *gin.Context) {
	for _, h := range []string{"Accept-Version", "X-API-Version"} {
		if av := c.GetHeader(h); av != "" {
			if _, ok := normalizeVersion(av); !ok {
				abort(c, http.StatusBadRequest, errUnsupportedVersion,
					h+": "+quoteShort(av)+" is not supported; supported versions: "+SupportedHeader+" (and the Python MUTT's 1.0, 2.0, 2.5)")
				return
			}
		}
	}
	c.Next()
}

// normalizeVersion accepts "v2", "2", "v2.0", "2.0" (any case) and returns
// "v2"; the Python MUTT's "2.5" (v2.5) is v2 and its "1.0" v1.
func normalizeVersion(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "v")
	s = strings.TrimSuffix(s, ".0")
	switch s {
	case "1":
		return "v1", true
	case "2", "2.5":
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

// VersionInfo is the body of GET /api/v*/version: MUTT's fields, then the
// Python MUTT v2.5's (peer-management §2.3 #9), which its clients read.
type VersionInfo struct {
	Versions   []string          `json:"versions"`
	Current    string            `json:"current"`
	Requested  string            `json:"requested"`
	Deprecated []string          `json:"deprecated"`
	Sunset     map[string]string `json:"sunset"`
	Migration  string            `json:"migration_guide"`
	// Build is shown to callers with a key only: /version answers without
	// one, and the revision and Go version are no one else's business.
	Build *BuildInfo `json:"build,omitempty"`

	CurrentVersion    string                        `json:"current_version"`
	DefaultVersion    string                        `json:"default_version"`
	SupportedVersions []string                      `json:"supported_versions"`
	VersionHistory    map[string]PythonVersionEntry `json:"version_history"`
}

// PythonVersionEntry is one version_history entry in the Python MUTT's
// shape, plus served_as: the MUTT path version that serves it.
type PythonVersionEntry struct {
	Released     string   `json:"released"`
	Status       string   `json:"status"`
	Changes      []string `json:"changes"`
	DeprecatedIn string   `json:"deprecated_in,omitempty"`
	RemovalDate  string   `json:"removal_date,omitempty"`
	ServedAs     string   `json:"served_as"`
}

// The Python MUTT's version names: its clients send them in Accept-Version
// and X-API-Version (normalizeVersion maps 2.5 and 2.0 to v2, 1.0 to v1).
const pythonCurrentVersion = "2.5"

var pythonSupportedVersions = []string{"2.5", "2.0", "1.0"}

// pythonVersionHistory keeps the Python MUTT's entries (release dates and
// what each brought) and says how MUTT serves them: 1.0 is MUTT's v1,
// deprecated, removed after V1Sunset.
var pythonVersionHistory = map[string]PythonVersionEntry{
	"2.5": {Released: "2025-11-10", Status: "current", ServedAs: "v2",
		Changes: []string{"served by MUTT's /api/v2", "config audit (/audit, /config-audit)", "SLO status", "dynamic config history"}},
	"2.0": {Released: "2025-11-10", Status: "supported", ServedAs: "v2",
		Changes: []string{"served by MUTT's /api/v2", "/api/v2 routes", "version headers"}},
	"1.0": {Released: "2024-01-01", Status: "deprecated", ServedAs: "v1", DeprecatedIn: "2.5", RemovalDate: "2027-11-26",
		Changes: []string{"served by MUTT's /api/v1 (deprecated: Deprecation and Sunset headers)", "rules, dev hosts, teams, metrics, audit logs"}},
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
		var build *BuildInfo
		if caller(c) != "" {
			build = &s.build
		}
		c.JSON(http.StatusOK, VersionInfo{
			Versions: supportedVersions, Current: CurrentVersion, Requested: version,
			Deprecated: []string{DeprecatedV1}, Sunset: map[string]string{DeprecatedV1: V1Sunset},
			Migration: MigrationGuide, Build: build,
			CurrentVersion: pythonCurrentVersion, DefaultVersion: pythonCurrentVersion,
			SupportedVersions: pythonSupportedVersions, VersionHistory: pythonVersionHistory,
		})
	})
}
