package jsonenc

import (
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it with HTML escaping off (json.Encoder.SetEscapeHTML(false)):
// quotes, backslashes and control characters escaped (\b \f \n \r \t short,
// the others as \u00XX), U+2028 and U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD itself (Go ≥ 1.27 writes the character, not a \ufffd escape), and <, >
// and & left alone (they need no escaping in JSON).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none of them needs a look: most
		// strings (host names, log messages) are plain ASCII.
		for ; i+8 <= len(s); i += 8 {
			w := s[i : i+8]
			if !plainWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				break
			}
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainWord reports whether the eight bytes of w are ASCII and neither
// control characters, '"' nor '\\': bytes AppendString copies as they are.
// With every byte under 0x80 (the w term), a byte under 0x20 is the only
// way w-0x2020… can set a high bit, and a byte equal to '"' the only way
// for (w^0x2222…)-0x0101… (Bit Twiddling Hacks' "has a byte less than n"
// and "has a zero byte"), so the test is exact.
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return ((w-ones*0x20)|((w^(ones*'"'))-ones)|((w^(ones*'\\'))-ones)|w)&highs == 0
}

// AppendStringMember appends key, the JSON text before a member's value such
// as `,"team":` (the caller's constant, written as it is), then s as
// AppendString writes it.
func AppendStringMember(dst []byte, key, s string) []byte {
	return AppendString(append(dst, key...), s)
}

// AppendTime appends t as time.Time's MarshalJSON writes it: RFC 3339 with as
// many fractional digits as needed, in quotes. MarshalJSON refuses a year
// outside 0-9999 or an offset of 24 hours or more; AppendTime does not check,
// so callers pass only times they know to be in range.
func AppendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
