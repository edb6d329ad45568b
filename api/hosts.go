package api

import "github.com/gin-gonic/gin"

// registerHosts is a placeholder replaced by the real routes.
func (s *Server) registerHosts(g *gin.RouterGroup, version string) {}
