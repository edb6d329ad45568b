package jsonenc

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
)

// Valid reports whether b is one valid JSON text, exactly as json.Valid does,
// several times faster: a direct recursive-descent check of the RFC 8259
// grammar instead of encoding/json's byte-at-a-time state machine. Like
// json.Valid it does not check UTF-8 and allows 10000 levels of nesting.
func Valid(b []byte) bool {
	i, ok := validValue(b, SkipSpace(b, 0), 0)
	return ok && SkipSpace(b, i) == len(b)
}

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

// Limits are what CheckValue enforces beyond the grammar.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects allowed, the
	// value's own level included (encoding/json's 10000 applies anyway).
	MaxDepth int
	// MaxString is the longest string allowed, in bytes as decoded
	// (encoding/json's reading); 0 means no limit.
	MaxString int
}

// Fault is what CheckValue found wrong.
type Fault uint8

// Faults of CheckValue.
const (
	FaultNone   Fault = iota
	FaultSyntax       // not valid JSON (Valid would say false)
	FaultDepth        // nested deeper than Limits.MaxDepth
	FaultString       // a string (or key) longer than Limits.MaxString
)

// CheckValue checks the JSON value that starts at b[i], nested inside depth
// arrays and objects, in one pass: the grammar as Valid checks it and the
// limits. It returns the offset just past the value and the first fault in
// the order of the text. Trailing data after the value is not looked at.
func CheckValue(b []byte, i, depth int, lim Limits) (int, Fault) {
	c := checker{b: b, maxDepth: min(lim.MaxDepth, maxNesting), maxString: lim.MaxString}
	end, ok := c.value(i, depth)
	if !ok {
		if c.fault == FaultNone {
			c.fault = FaultSyntax
		}
		return end, c.fault
	}
	return end, FaultNone
}

// checker is the one recursive-descent scanner: the grammar, and the limits
// CheckValue sets (Valid's are encoding/json's); fault says which failed.
type checker struct {
	b                   []byte
	maxDepth, maxString int
	fault               Fault
}

func (c *checker) value(i, depth int) (int, bool) {
	b := c.b
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '{', '[':
		if depth+1 > c.maxDepth {
			c.fault = FaultDepth
			return i, false
		}
		if b[i] == '{' {
			return c.object(i, depth+1)
		}
		return c.array(i, depth+1)
	case '"':
		return c.str(i)
	}
	return validScalar(b, i)
}

func (c *checker) str(i int) (int, bool) {
	end, ok := validString(c.b, i)
	if ok && c.maxString > 0 && 3*(end-i-2) > c.maxString {
		// No encoded byte decodes to more than three (an invalid UTF-8
		// byte becomes U+FFFD, a six-byte \uXXXX escape at most three), so
		// only an encoding longer than a third of the limit needs decoding
		// to check the limit exactly.
		var s string
		if json.Unmarshal(c.b[i:end], &s) == nil && len(s) > c.maxString {
			c.fault = FaultString
			return i, false
		}
	}
	return end, ok
}

func (c *checker) object(i, depth int) (int, bool) {
	b := c.b
	i, empty := openContainer(b, i, '}')
	if empty {
		return i, true
	}
	for {
		if i = SkipSpace(b, i); i >= len(b) || b[i] != '"' {
			return i, false
		}
		var ok, more bool
		if i, ok = c.str(i); !ok {
			return i, false
		}
		i = SkipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = c.value(SkipSpace(b, i+1), depth); !ok {
			return i, false
		}
		if i, more, ok = nextElement(b, i, '}'); !more {
			return i, ok
		}
	}
}

func (c *checker) array(i, depth int) (int, bool) {
	b := c.b
	i, empty := openContainer(b, i, ']')
	if empty {
		return i, true
	}
	for {
		var ok, more bool
		if i, ok = c.value(SkipSpace(b, i), depth); !ok {
			return i, false
		}
		if i, more, ok = nextElement(b, i, ']'); !more {
			return i, ok
		}
	}
}

// openContainer reads past the '{' or '[' at b[i]: it returns the offset of
// the first member or element, or, for an empty object or array (closing
// right after the opening), the offset just past it and empty.
func openContainer(b []byte, i int, closing byte) (next int, empty bool) {
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	return i, false
}

// nextElement reads what follows a member or element that ends at b[i]: a
// ',' (more: another member or element follows) or closing. next is just
// past it, or at the syntax error when it is neither (ok false).
func nextElement(b []byte, i int, closing byte) (next int, more, ok bool) {
	i = SkipSpace(b, i)
	if i < len(b) && (b[i] == ',' || b[i] == closing) {
		return i + 1, b[i] == ',', true
	}
	return i, false, false
}

// validValue checks the JSON value at b[i], nested inside depth arrays and
// objects, as Valid does.
func validValue(b []byte, i, depth int) (int, bool) {
	c := checker{b: b, maxDepth: maxNesting}
	return c.value(i, depth)
}

// validScalar checks a literal or a number at b[i].
func validScalar(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case 't':
		return validLiteral(b, i, "true")
	case 'f':
		return validLiteral(b, i, "false")
	case 'n':
		return validLiteral(b, i, "null")
	default:
		if c == '-' || isDigit(c) {
			return validNumber(b, i)
		}
		return i, false
	}
}

// ValidString checks the string token at b[i] == '"' as Valid does and
// returns the offset after it (or of the fault, and false).
func ValidString(b []byte, i int) (int, bool) { return validString(b, i) }

func validString(b []byte, i int) (int, bool) {
	for i++; i < len(b); {
		// Eight bytes at a time up to the first that ends the string,
		// starts an escape or is a control character.
		for i+8 <= len(b) {
			if m := stopBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		default:
			i++
		}
	}
	return i, false
}

// stopBytes has the high bit set in the lowest byte of w (little-endian)
// that is a control character, '"' or '\\', and is 0 when none is (bytes of
// 0x80 and above never stop a string). Each term is Bit Twiddling Hacks'
// word test ("has a byte less than n", "has a zero byte" of w xor the byte):
// a borrow runs only upwards, so a byte above the first stop byte may be
// flagged wrongly, never one below it.
func stopBytes(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return ((w-ones*0x20)&^w | (quote-ones)&^quote | (backslash-ones)&^backslash) & highs
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func validLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// validNumber: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func validNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, true
}
