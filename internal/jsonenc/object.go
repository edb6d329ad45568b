package jsonenc

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Object reads the members of one JSON object in a single pass, checking the
// syntax as it goes exactly as Valid does, except for the values the caller
// takes with Trusted, whose grammar is not checked (only where they end).
//
//	o := jsonenc.NewObject(data)
//	for key, ok := o.Next(); ok; key, ok = o.Next() {
//		val := o.Value() // nil when it is not valid JSON
//		...
//	}
//	if !o.Valid() { ... }
//
// With no Trusted value, Valid after the last Next answers as Valid(data)
// does, so one pass both checks and splits an object where Valid followed by
// EachField took two. It never panics, whatever data holds.
type Object struct {
	b     []byte
	i     int
	state uint8
	elem  bool // NewElement: more data follows the object
}

const (
	objStart uint8 = iota
	objValue       // Next returned a key; its value comes next
	objAfter       // after a value: ',' or '}' comes next
	objDone        // the object ended and only whitespace followed
	objBad         // not valid JSON
)

// NewObject starts reading data, which must hold one JSON object and nothing
// but whitespace around it.
func NewObject(data []byte) Object { return Object{b: data} }

// NewElement starts reading the object that starts at data[i] (after any
// whitespace) and that more data follows, such as an element of an array
// (see Elements): once Valid, End says where it ended.
func NewElement(data []byte, i int) Object { return Object{b: data, i: i, elem: true} }

// End is the offset just past the object's closing '}' once Valid.
func (o *Object) End() int { return o.i }

// Next reads the next member's key and returns it raw (the string token as
// written, quotes and escapes included), with ok true; ok is false at the
// end of the object or at a syntax error (see Valid). The caller must take
// the member's value with Value or Trusted before calling Next again.
func (o *Object) Next() (key []byte, ok bool) {
	b, i := o.b, o.i
	switch o.state {
	case objStart:
		i = SkipSpace(b, i)
		if i >= len(b) || b[i] != '{' {
			return o.fail()
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return o.end(i + 1)
		}
	case objAfter:
		i = SkipSpace(b, i)
		if i >= len(b) {
			return o.fail()
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return o.end(i + 1)
		default:
			return o.fail()
		}
	default: // a value not taken, or already finished
		return o.fail()
	}
	if i >= len(b) || b[i] != '"' {
		return o.fail()
	}
	k, ok := validString(b, i)
	if !ok {
		return o.fail()
	}
	j := SkipSpace(b, k)
	if j >= len(b) || b[j] != ':' {
		return o.fail()
	}
	o.i, o.state = SkipSpace(b, j+1), objValue
	return b[i:k], true
}

// Value returns the current member's raw value after checking its syntax
// (nesting limit included, as Valid); nil when it is not valid JSON.
func (o *Object) Value() []byte {
	if o.state != objValue {
		o.state = objBad
		return nil
	}
	end, ok := validValue(o.b, o.i, 1) // the object itself is level 1
	if !ok {
		o.state = objBad
		return nil
	}
	v := o.b[o.i:end]
	o.i, o.state = end, objAfter
	return v
}

// Trusted returns the current member's raw value without checking its
// grammar: strings and brackets are followed to find its end, nothing more.
// Use it only for bytes known to be valid JSON because MUTT itself checked
// or wrote them (say where, at the call). Valid then vouches for the rest of
// the object only. It returns nil when not even the value's end can be
// found.
func (o *Object) Trusted() []byte {
	if o.state != objValue || o.i >= len(o.b) {
		o.state = objBad
		return nil
	}
	end := skipValue(o.b, o.i)
	if end == o.i || end > len(o.b) {
		o.state = objBad
		return nil
	}
	v := o.b[o.i:end]
	o.i, o.state = end, objAfter
	return v
}

// Valid reports whether the object was read to its end and was valid JSON
// (the Trusted values assumed valid). It is false until Next has returned
// false at the end of the object.
func (o *Object) Valid() bool { return o.state == objDone }

func (o *Object) fail() ([]byte, bool) {
	o.state = objBad
	return nil, false
}

// end finishes the object at b[i-1] == '}': only whitespace may follow,
// unless it is an element.
func (o *Object) end(i int) ([]byte, bool) {
	if !o.elem && SkipSpace(o.b, i) != len(o.b) {
		return o.fail()
	}
	o.i, o.state = i, objDone
	return nil, false
}

// PlainString returns the text of the JSON string token val when reading it
// needs no decoding: no escapes and valid UTF-8 (encoding/json would replace
// invalid bytes). ok is false for anything else, which the caller then
// decodes with encoding/json. val must be a valid token (Value or Valid).
func PlainString(val []byte) (s string, ok bool) {
	inner, ok := PlainText(val)
	return string(inner), ok
}

// PlainText is PlainString without the copy: the text of val as a slice of
// it (nil and false when reading it needs decoding). A caller that keeps the
// text copies it where it likes (a per-batch buffer, say).
func PlainText(val []byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' {
		return nil, false
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return nil, false
	}
	return inner, true
}

// The setters below are the fast decoders' (alert envelope, forwarder alert)
// field stores: false means "let encoding/json decide" for that member.

// SetString stores a plain JSON string (PlainString); null leaves *dst as
// it is, as encoding/json does.
func SetString(dst *string, val []byte) bool {
	if string(val) == "null" {
		return true
	}
	s, ok := PlainString(val)
	if ok {
		*dst = s
	}
	return ok
}

// SetIntPtr stores a plain JSON integer; null sets nil.
func SetIntPtr(dst **int, val []byte) bool {
	if string(val) == "null" {
		*dst = nil
		return true
	}
	n, err := strconv.ParseInt(string(val), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	v := int(n)
	*dst = &v
	return true
}

// FoldsToAny reports whether key equals one of names ignoring case: such a
// member is one encoding/json would store (it matches names
// case-insensitively), so a fast decoder that matched exactly must fall back.
func FoldsToAny(key []byte, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(n, string(key)) {
			return true
		}
	}
	return false
}
