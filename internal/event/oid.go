package event

import "strings"

// NormalizeOID accepts an OID as dotted digits with an optional leading dot
// and returns it without the dot: the form trap_oid and SNMP variables carry
// end to end. ok is false for anything else.
func NormalizeOID(s string) (oid string, ok bool) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return "", false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && digits > 0:
			digits = 0
		default:
			return "", false
		}
	}
	return s, digits > 0
}
