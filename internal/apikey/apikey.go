// Package apikey is the one API-key matcher of MUTT's listeners (ingest and
// the admin API): constant-time matching of a presented key against the
// accepted ones, the minimum key length outside `mutt dev`, the names audit
// rows record for a key (an HMAC with a server secret, not a bare hash), and
// the per-client throttle of failed authentications. It imports only the
// standard library and the Prometheus client; it must not import hot-path,
// API or backend packages.
package apikey

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// MinLength is the shortest API key accepted outside `mutt dev`, in bytes:
// 32 random bytes' worth of guessing, whatever the alphabet of a shorter key.
const MinLength = 32

// CheckLength names the first key of variable that is shorter than MinLength,
// never the key itself.
func CheckLength(variable string, keys []string) error {
	for i, k := range keys {
		if len(k) < MinLength {
			return fmt.Errorf("%s: key %d of %d is %d bytes; API keys must be at least %d bytes outside mutt dev "+
				"(generate one with: openssl rand -base64 32)", variable, i+1, len(keys), len(k), MinLength)
		}
	}
	return nil
}

// Key is one accepted key and what a match tells the caller.
type Key[T any] struct {
	Value string
	Info  T
}

// Set is a list of accepted keys and their digests. Comparing fixed-length
// digests keeps the compare constant-time whatever the lengths of the
// configured and presented keys.
type Set[T any] struct {
	keys []Key[T]
	sums [][sha256.Size]byte
}

// NewSet builds a Set; empty keys are dropped (an empty key would match a
// request without the header).
func NewSet[T any](keys []Key[T]) *Set[T] {
	s := &Set[T]{}
	for _, k := range keys {
		if k.Value == "" {
			continue
		}
		s.keys = append(s.keys, k)
		s.sums = append(s.sums, sha256.Sum256([]byte(k.Value)))
	}
	return s
}

// Len is the number of accepted keys.
func (s *Set[T]) Len() int { return len(s.keys) }

// Match compares presented with every key (no early exit, so timing reveals
// neither the key nor which one matched) and returns the first match.
func (s *Set[T]) Match(presented string) (T, bool) {
	var zero T
	if presented == "" {
		return zero, false
	}
	got := sha256.Sum256([]byte(presented))
	idx := -1
	for i := range s.sums {
		if subtle.ConstantTimeCompare(got[:], s.sums[i][:]) == 1 && idx < 0 {
			idx = i
		}
	}
	if idx < 0 {
		return zero, false
	}
	return s.keys[idx].Info, true
}

// Fingerprint names a key in audit rows and logs: the first 6 bytes (12 hex
// digits) of HMAC-SHA256(secret, key). Without the server's secret, a
// fingerprint cannot be checked against guessed keys, unlike a bare hash
// that anyone reading the audit (the read-only key) could test offline.
func Fingerprint(secret []byte, key string) string {
	if key == "" {
		return ""
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil)[:6])
}
