package api

import (
	_ "embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mutt-ops/mutt/docs"
)

// openAPIDoc is the OpenAPI 3 document of every route (both versions). A
// test checks it against the router in both directions.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the document without auth: it holds no data, and clients
// and the web UI need it before they have a key.
func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}

// document serves the embedded docs (the migration guide the v1 Link header
// names), without auth like the OpenAPI document.
func (s *Server) document(c *gin.Context) {
	b, err := fs.ReadFile(docs.Served, c.Param("name"))
	if err != nil {
		abort(c, http.StatusNotFound, errNotFound, "no such document")
		return
	}
	c.Data(http.StatusOK, "text/markdown; charset=utf-8", b)
}
