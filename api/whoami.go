package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Whoami is GET /whoami: what the presented key may do, so a client (the
// web UI) can hide the write controls of a read-only key instead of
// letting its writes fail.
type Whoami struct {
	KeyName  string `json:"key_name"` // as audit rows record it (KeyName)
	Role     string `json:"role"`     // admin or readonly
	CanWrite bool   `json:"can_write"`
}

func (s *Server) registerWhoami(g *gin.RouterGroup, _ string) {
	g.GET("/whoami", whoami)
}

func whoami(c *gin.Context) {
	admin := c.GetBool(ctxKeyAdmin)
	role := "readonly"
	if admin {
		role = "admin"
	}
	c.JSON(http.StatusOK, Whoami{KeyName: caller(c), Role: role, CanWrite: admin})
}
