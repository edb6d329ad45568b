package rules

import (
	"crypto/sha1" // #nosec G505 -- SHA-1 only buckets message fingerprints, no security property depends on it
	"encoding/hex"
	"strings"
)

// Fingerprint identifies the "shape" of an unmatched message: the first 16 hex
// characters of the SHA-1 of the message lower-cased with every run of ASCII
// digits replaced by a single "0". Messages that differ only in counters,
// times, interface numbers or addresses therefore aggregate under one
// fingerprint (the peer hashed the exact text, so such messages never reached
// a threshold). SHA-1 is used as a cheap, stable grouping key, not for
// security.
func Fingerprint(message string) string {
	lower := strings.ToLower(message)
	buf := make([]byte, 0, len(lower))
	inDigits := false
	for i := 0; i < len(lower); i++ {
		b := lower[i]
		if b >= '0' && b <= '9' {
			if !inDigits {
				buf = append(buf, '0')
				inDigits = true
			}
			continue
		}
		inDigits = false
		buf = append(buf, b)
	}
	sum := sha1.Sum(buf) // #nosec G401 -- a grouping key, not a signature or a password hash
	return hex.EncodeToString(sum[:8])
}
