// Package correlation is the one rule for X-Correlation-ID on every MUTT
// listener (ingest and the admin API): a client's id is kept when it is safe
// to log, store and echo in a header (1–64 characters of [A-Za-z0-9._:-]),
// otherwise a new one is made (32 hex digits, as docs/API_REFERENCE.md says).
// It imports only the standard library.
package correlation

import (
	"crypto/rand"
	"encoding/hex"
)

// MaxLen is the longest client id kept; it is also the width of the
// correlation_id columns.
const MaxLen = 64

// Valid reports whether id is a client id MUTT keeps as it is.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// New makes an id: 16 random bytes as 32 hex digits.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// FromHeader is the id of a request whose X-Correlation-ID header is h: h
// itself when Valid, else a new one.
func FromHeader(h string) string {
	if Valid(h) {
		return h
	}
	return New()
}
