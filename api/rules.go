package api

import "github.com/gin-gonic/gin"

// registerRules is a placeholder replaced by the real routes.
func (s *Server) registerRules(g *gin.RouterGroup, version string) {}
