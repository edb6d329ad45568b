package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes of the JSON error body. They are part of the API contract:
// clients branch on them, so they never change meaning.
const (
	errBadRequest         = "bad_request"
	errInvalidValue       = "invalid_value"
	errUnauthorized       = "unauthorized"
	errForbidden          = "forbidden"
	errNotFound           = "not_found"
	errMethodNotAllowed   = "method_not_allowed"
	errUnsupportedVersion = "unsupported_version"
	errUnavailable        = "service_unavailable"
	errInternal           = "internal_error"
	errInvalidBody        = "invalid_body"
	errInvalidField       = "invalid_field"
	errInvalidQuery       = "invalid_query"
	errInvalidID          = "invalid_id"
	errInvalidHeader      = "invalid_header"
	errConflict           = "conflict"
	errVersionConflict    = "version_conflict"
	errPreconditionReq    = "precondition_required"
	errBodyTooLarge       = "body_too_large"
	errTooManyFailures    = "too_many_failed_authentications"
)

// errorBody is every error response: a stable code, a human message that
// never carries database or driver text, and the request's correlation id.
type errorBody struct {
	Error         string `json:"error"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlation_id"`
}

// abort writes the JSON error and stops the handler chain.
func abort(c *gin.Context, status int, errCode, msg string) {
	c.AbortWithStatusJSON(status, errorBody{Error: errCode, Message: msg, CorrelationID: correlationID(c)})
}

// internalError logs err (with the correlation id, so an operator can find
// it) and answers a 500 that says nothing about the internals.
func (s *Server) internalError(c *gin.Context, what string, err error) {
	s.o.Log.Error(what, "err", err, "correlation_id", correlationID(c), "path", c.FullPath())
	abort(c, http.StatusInternalServerError, errInternal, "internal error; quote the correlation id to an operator")
}

// unavailable is internalError for a dependency outage (Redis or PostgreSQL
// down): 503 tells the client the request may succeed later.
func (s *Server) unavailable(c *gin.Context, what string, err error) {
	s.o.Log.Warn(what, "err", err, "correlation_id", correlationID(c), "path", c.FullPath())
	// A dependency that is down or overloaded (Temporal under a flood of
	// console actions answers late): tell the client when to try again.
	c.Header("Retry-After", "5")
	abort(c, http.StatusServiceUnavailable, errUnavailable, what+"; try again later")
}
