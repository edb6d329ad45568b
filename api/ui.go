package api

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// webFS holds the UI: server-rendered page shells plus our own CSS and JS.
// Everything ships in the binary; nothing is fetched from a CDN.
//
//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// uiPages maps a path under /ui/ to its template and nav title. Pages carry
// no data: the browser's JS fetches it from /api/v2 with the key from
// sessionStorage, so the pages themselves need no auth.
var uiPages = map[string]struct{ file, title string }{
	"":       {"dashboard.html", "Dashboard"},
	"login":  {"login.html", "Log in"},
	"rules":  {"rules.html", "Rules"},
	"audit":  {"audit.html", "Config audit"},
	"config": {"config.html", "Dynamic config"},
	"hosts":  {"hosts.html", "Dev hosts and teams"},
}

type uiPageData struct {
	Page  string
	Title string
}

// registerUI mounts the web UI. The pages are deliberately not gin routes:
// they are served from the not-found fallback so the route table stays the
// API's (which the OpenAPI test checks route for route), and any other
// unknown path still gets the JSON 404.
func (s *Server) registerUI(r *gin.Engine) {
	static, err := fs.Sub(webFS, "web/static")
	files := http.FileServer(http.FS(static))
	r.NoRoute(func(c *gin.Context) {
		p := c.Request.URL.Path
		get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
		switch {
		case !get || !(p == "/" || p == "/ui" || strings.HasPrefix(p, "/ui/")):
			abort(c, http.StatusNotFound, errNotFound, "no such route")
		case p == "/" || p == "/ui":
			c.Redirect(http.StatusFound, "/ui/")
		case strings.HasPrefix(p, "/ui/static/"):
			if err != nil {
				s.internalError(c, "open embedded ui assets", err)
				return
			}
			c.Header("Cache-Control", "no-cache")
			http.StripPrefix("/ui/static", files).ServeHTTP(c.Writer, c.Request)
		default:
			s.uiPage(c, strings.TrimSuffix(strings.TrimPrefix(p, "/ui/"), "/"))
		}
	})
}

func (s *Server) uiPage(c *gin.Context, name string) {
	pg, ok := uiPages[name]
	if !ok {
		abort(c, http.StatusNotFound, errNotFound, "no such page")
		return
	}
	t, err := template.ParseFS(webFS, "web/templates/layout.html", "web/templates/"+pg.file)
	if err != nil {
		s.internalError(c, "parse ui template", fmt.Errorf("parse %s: %w", pg.file, err))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", uiPageData{Page: name, Title: pg.title}); err != nil {
		s.internalError(c, "render ui page", fmt.Errorf("render %s: %w", pg.file, err))
		return
	}
	// The shell has no data, but forbid framing and inline script injection anyway.
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	c.Header("X-Frame-Options", "DENY")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
