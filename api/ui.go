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

// ui is the parsed web UI: the page templates and the static files.
type ui struct {
	pages  map[string]*template.Template
	titles map[string]string
	static http.Handler
}

// loadUI parses every page once, at start-up: a broken template fails New,
// not a request.
func loadUI() (*ui, error) {
	u := &ui{pages: map[string]*template.Template{}, titles: map[string]string{}}
	for name, pg := range uiPages {
		t, err := template.ParseFS(webFS, "web/templates/layout.html", "web/templates/"+pg.file)
		if err != nil {
			return nil, fmt.Errorf("api: parse ui page %s: %w", pg.file, err)
		}
		u.pages[name], u.titles[name] = t, pg.title
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, fmt.Errorf("api: ui assets: %w", err)
	}
	u.static = http.StripPrefix("/ui/static", http.FileServer(http.FS(static)))
	return u, nil
}

// registerUI mounts the web UI. The pages are deliberately not gin routes:
// they are served from the not-found fallback so the route table stays the
// API's (which the OpenAPI test checks route for route), and any other
// unknown path still gets the JSON 404. Metrics label them "/ui/:page" and
// "/ui/static/*".
func (s *Server) registerUI(r *gin.Engine) {
	r.NoRoute(func(c *gin.Context) {
		p := c.Request.URL.Path
		get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
		switch {
		case !get || !(p == "/" || p == "/ui" || strings.HasPrefix(p, "/ui/")):
			abort(c, http.StatusNotFound, errNotFound, "no such route")
		case p == "/" || p == "/ui":
			c.Set(ctxRoute, "/ui/:page")
			c.Redirect(http.StatusFound, "/ui/")
		case strings.HasPrefix(p, "/ui/static/"):
			c.Set(ctxRoute, "/ui/static/*")
			c.Header("Cache-Control", "no-cache")
			s.ui.static.ServeHTTP(c.Writer, c.Request)
		default:
			c.Set(ctxRoute, "/ui/:page")
			s.uiPage(c, strings.TrimSuffix(strings.TrimPrefix(p, "/ui/"), "/"))
		}
	})
}

func (s *Server) uiPage(c *gin.Context, name string) {
	t, ok := s.ui.pages[name]
	if !ok {
		abort(c, http.StatusNotFound, errNotFound, "no such page")
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", uiPageData{Page: name, Title: s.ui.titles[name]}); err != nil {
		s.internalError(c, "render ui page", fmt.Errorf("render %s: %w", name, err))
		return
	}
	// The shell has no data, but forbid framing and inline script injection anyway.
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	c.Header("X-Frame-Options", "DENY")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
