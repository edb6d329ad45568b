package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
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
