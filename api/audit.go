package api

import "github.com/gin-gonic/gin"

// registerAudit is a placeholder replaced by the real routes.
func (s *Server) registerAudit(g *gin.RouterGroup, version string) {}
