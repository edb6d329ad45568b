package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
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
var uiPages = map[string]struct {
	file, title string
	scripts     []string // the page's own scripts under /ui/static/, loaded after app.js
}{
	"":            {"dashboard.html", "Dashboard", []string{"dashboard.js"}},
	"login":       {"login.html", "Log in", nil},
	"rules":       {"rules.html", "Rules", []string{"rulehits.js"}},
	"audit":       {"audit.html", "Config audit", nil},
	"config":      {"config.html", "Dynamic config", nil},
	"hosts":       {"hosts.html", "Dev hosts and teams", nil},
	"events":      {"events.html", "Events", []string{"events.js"}},
	"deadletters": {"deadletters.html", "Dead letters", nil},
	"jobs":        {"jobs.html", "Ops jobs", nil},
	// notFound answers every other path under /ui/ (with status 404).
	notFound: {"notfound.html", "Page not found", nil},
}

// notFound is the uiPages entry of the HTML 404 page; no URL reaches it by name.
const notFound = "\x00notfound"

type uiPageData struct {
	Page    string
	Title   string
	Scripts []string
	Path    string // the path asked for (the 404 page names it)
}

// ui is the parsed web UI: the page templates and the static files.
type ui struct {
	pages   map[string]*template.Template
	titles  map[string]string
	scripts map[string][]string
	static  map[string]asset // by name under /ui/static/
}

// asset is one embedded static file, served from memory.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// loadUI parses every page once, at start-up: a broken template fails New,
// not a request.
func loadUI() (*ui, error) {
	u := &ui{pages: map[string]*template.Template{}, titles: map[string]string{}, scripts: map[string][]string{}}
	for name, pg := range uiPages {
		t, err := template.ParseFS(webFS, "web/templates/layout.html", "web/templates/"+pg.file)
		if err != nil {
			return nil, fmt.Errorf("api: parse ui page %s: %w", pg.file, err)
		}
		u.pages[name], u.titles[name], u.scripts[name] = t, pg.title, pg.scripts
	}
	entries, err := fs.ReadDir(webFS, "web/static")
	if err != nil {
		return nil, fmt.Errorf("api: ui assets: %w", err)
	}
	u.static = map[string]asset{}
	for _, de := range entries {
		b, err := fs.ReadFile(webFS, "web/static/"+de.Name())
		if err != nil {
			return nil, fmt.Errorf("api: ui asset %s: %w", de.Name(), err)
		}
		ctype := mime.TypeByExtension(path.Ext(de.Name()))
		if ctype == "" {
			ctype = http.DetectContentType(b)
		}
		sum := sha256.Sum256(b)
		u.static[de.Name()] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
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
		case hasKeyInQuery(c.Request):
			// A login form submitted before its JS loaded (or a hand-made
			// link) put the key in the URL: it is in history and proxy logs
			// already, so say so rather than serve the page as if all were well.
			c.Set(ctxRoute, "/ui/:page")
			abort(c, http.StatusBadRequest, errBadRequest,
				"an API key in the URL is refused: it ends up in browser history and logs; "+
					"log in on /ui/login with JavaScript on, and rotate the key if this was a real one")
		case strings.HasPrefix(p, "/ui/static/"):
			c.Set(ctxRoute, "/ui/static/*")
			s.staticAsset(c, strings.TrimPrefix(p, "/ui/static/"))
		default:
			c.Set(ctxRoute, "/ui/:page")
			s.uiPage(c, strings.TrimSuffix(strings.TrimPrefix(p, "/ui/"), "/"))
		}
	})
}

// staticAsset serves an embedded file from memory: whole, with an ETag
// for revalidation. Range is never honoured (no http.ServeContent): the
// assets are small, and net/http's multi-range handling is a CPU sink for
// anyone unauthenticated (GO-2026-6609).
func (s *Server) staticAsset(c *gin.Context, name string) {
	a, ok := s.ui.static[name]
	if !ok {
		abort(c, http.StatusNotFound, errNotFound, "no such file")
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Header("ETag", a.etag)
	if inm := c.GetHeader("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, a.ctype, a.body)
}

// hasKeyInQuery reports whether the query string carries something named
// like an API key (api-key, api_key, apikey, x-api-key, key; any case).
func hasKeyInQuery(r *http.Request) bool {
	for name := range r.URL.Query() {
		n := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(name))
		if n == "apikey" || n == "xapikey" || n == "key" {
			return true
		}
	}
	return false
}

func (s *Server) uiPage(c *gin.Context, name string) {
	code, data := http.StatusOK, uiPageData{Page: name, Title: s.ui.titles[name], Scripts: s.ui.scripts[name]}
	t, ok := s.ui.pages[name]
	if !ok || name == notFound {
		// An HTML page, with the nav, for a mistyped or stale link: the
		// browser shows it as it is. The path is shown escaped, and cut short.
		p := c.Request.URL.Path
		if len(p) > 200 {
			p = strings.ToValidUTF8(p[:200], "") + "…"
		}
		code, t, data = http.StatusNotFound, s.ui.pages[notFound], uiPageData{Page: "notfound", Title: s.ui.titles[notFound], Path: p}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.internalError(c, "render ui page", fmt.Errorf("render %s: %w", name, err))
		return
	}
	// The security headers (CSP, no framing) come from securityHeaders.
	c.Data(code, "text/html; charset=utf-8", buf.Bytes())
}
