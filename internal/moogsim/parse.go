package moogsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The simulator must keep up with the whole pipeline's throughput on the same
// machine, so a body is checked once with json.Valid and then split by the
// small scanner below, which may assume valid JSON; decoding every event with
// encoding/json cost several times more.

// ParseEvents splits a webhook body into its events: a single event object, or
// {"events":[...]} with at least one object. It returns each event's raw JSON
// (aliasing body) and its external_id ("" when absent or null; a non-string id
// is kept as its JSON text).
func ParseEvents(body []byte) ([]json.RawMessage, []string, error) {
	p, err := parse(body)
	return p.events, p.ids, err
}

// parsed is a body split into events, with what the simulator records of each.
type parsed struct {
	events   []json.RawMessage
	ids      []string
	received [][]byte // raw custom_info.received_at of each event, nil if absent
}

func (p *parsed) add(ev []byte) {
	var id, received []byte
	eachField(ev, func(key, val []byte) {
		switch {
		case keyIs(key, "external_id"):
			id = val
		case keyIs(key, "custom_info") && val[0] == '{':
			received = nil
			eachField(val, func(key, val []byte) {
				if keyIs(key, "received_at") && val[0] == '"' {
					received = val
				}
			})
		}
	})
	p.events = append(p.events, ev)
	p.ids = append(p.ids, externalID(id))
	p.received = append(p.received, received)
}

func parse(body []byte) (parsed, error) {
	var p parsed
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return p, fmt.Errorf("body is not JSON: %w", err)
	}
	start := skipSpace(body, 0)
	if body[start] != '{' {
		return p, errors.New(`body is not a JSON event object or {"events":[...]}`)
	}
	var events []byte
	haveEvents := false
	eachField(body[start:], func(key, val []byte) {
		if keyIs(key, "events") {
			events, haveEvents = val, true
		}
	})
	if !haveEvents || string(events) == "null" {
		p.add(bytes.TrimSpace(body))
		return p, nil
	}
	if events[0] != '[' {
		return parsed{}, errors.New(`"events" is not an array`)
	}
	var bad error
	eachElement(events, func(i int, ev []byte) {
		if bad != nil {
			return
		}
		if ev[0] != '{' {
			bad = fmt.Errorf("events[%d] is not an object", i)
			return
		}
		p.add(ev)
	})
	if bad != nil {
		return parsed{}, bad
	}
	if len(p.events) == 0 {
		return parsed{}, errors.New(`"events" is empty`)
	}
	return p, nil
}

// externalID turns the raw value of external_id into the id it stands for.
func externalID(raw []byte) string {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return ""
	case raw[0] == '"':
		return unquote(raw)
	default:
		return string(raw)
	}
}

// keyIs compares a raw (quoted) key with name, decoding escapes if any.
func keyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name
	}
	return unquote(raw) == name
}

// unquote decodes a valid JSON string token (invalid UTF-8 becomes U+FFFD,
// as encoding/json does).
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // raw is a valid string token
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string token starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
			i++
		}
		return i
	}
}

// eachField calls fn with the raw key and value of every member of the object
// b (which starts with '{').
func eachField(b []byte, fn func(key, val []byte)) {
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		k := skipString(b, i)
		key := b[i:k]
		v := skipSpace(b, skipSpace(b, k)+1) // past ':'
		end := skipValue(b, v)
		fn(key, b[v:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// eachElement calls fn with every element of the array b (which starts with '[').
func eachElement(b []byte, fn func(i int, val []byte)) {
	i := skipSpace(b, 1)
	for n := 0; i < len(b) && b[i] != ']'; n++ {
		end := skipValue(b, i)
		fn(n, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}
