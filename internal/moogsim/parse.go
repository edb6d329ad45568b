package moogsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// The simulator must keep up with the whole pipeline's throughput on the same
// machine, so a body is split in one pass that checks the JSON as it goes,
// rather than checking it with jsonenc.Valid and then splitting it again (a
// forwarder's batch was scanned four times over). The pass walks objects and
// arrays and checks strings itself, eight bytes at a time; numbers, literals,
// strings with escapes and deep nesting are left to jsonenc.CheckValue, so
// the grammar and the nesting limit are Valid's. Bodies of any other shape,
// and invalid ones, take the plain path (jsonenc.Valid, then
// jsonenc.EachField and jsonenc.EachElement), which also words the errors.

// ParseEvents splits a webhook body into its events: a single event object, or
// {"events":[...]} with at least one object. It returns each event's raw JSON
// (aliasing body) and its external_id ("" when absent or null; a non-string id
// is kept as its JSON text).
func ParseEvents(body []byte) ([]json.RawMessage, []string, error) {
	var p parsed
	if err := p.parse(body); err != nil {
		return nil, nil, err
	}
	events := make([]json.RawMessage, len(p.events))
	ids := make([]string, len(p.ids))
	for i := range p.events {
		events[i], ids[i] = p.events[i], externalID(p.ids[i])
	}
	return events, ids, nil
}

// parsed is a body split into events, with what the simulator records of
// each; every slice aliases the body.
type parsed struct {
	events   [][]byte
	ids      [][]byte // raw external_id of each event, nil if absent
	received [][]byte // raw custom_info.received_at of each event, nil if absent
}

func (p *parsed) reset() {
	clear(p.events) // let go of the body
	clear(p.ids)
	clear(p.received)
	p.events, p.ids, p.received = p.events[:0], p.ids[:0], p.received[:0]
}

func (p *parsed) add(ev, id, received []byte) {
	p.events = append(p.events, ev)
	p.ids = append(p.ids, id)
	p.received = append(p.received, received)
}

// parse fills p (empty) with the events of body.
func (p *parsed) parse(body []byte) error {
	if p.split(body) {
		return nil
	}
	p.reset()
	return p.parseSlow(body)
}

// anyDepth leaves CheckValue with encoding/json's nesting limit, as Valid has.
var anyDepth = jsonenc.Limits{MaxDepth: math.MaxInt}

// split is parse in one pass for a valid body of the usual shapes: an event
// object, or an object whose last "events" member is null or a non-empty
// array of objects. It reports false for anything else, leaving p to be
// reset.
func (p *parsed) split(b []byte) bool {
	start := jsonenc.SkipSpace(b, 0)
	if start >= len(b) || b[start] != '{' {
		return false
	}
	var top eventScan
	batch := false // the last "events" member is an array
	end, ok := walkObject(b, start, func(key []byte, v int) (int, bool) {
		if !keyIs(key, "events") {
			return top.member(b, key, v, 1)
		}
		if b[v] != '[' {
			end, ok := valueEnd(b, v, 1)
			batch = false
			return end, ok && string(b[v:end]) == "null"
		}
		p.reset() // the last "events" counts
		batch = true
		return walkArray(b, v, func(e int) (int, bool) {
			if b[e] != '{' {
				return e, false
			}
			var ev eventScan
			end, ok := walkObject(b, e, func(key []byte, v int) (int, bool) { return ev.member(b, key, v, 3) })
			if ok {
				p.add(b[e:end], ev.id, ev.received)
			}
			return end, ok
		})
	})
	if !ok || jsonenc.SkipSpace(b, end) != len(b) {
		return false
	}
	if !batch {
		p.reset()
		p.add(b[start:end], top.id, top.received)
	}
	return len(p.events) > 0
}

// eventScan collects what the simulator records of one event object.
type eventScan struct{ id, received []byte }

// member checks the value at b[v] of a member of the event (an object at
// nesting level depth), noting external_id and custom_info.received_at as
// parseSlow does, and returns the offset after it.
func (e *eventScan) member(b, key []byte, v, depth int) (int, bool) {
	switch {
	case keyIs(key, "external_id"):
		end, ok := valueEnd(b, v, depth)
		e.id = b[v:end]
		return end, ok
	case b[v] == '{' && keyIs(key, "custom_info"):
		e.received = nil
		return walkObject(b, v, func(key []byte, w int) (int, bool) {
			end, ok := valueEnd(b, w, depth+1)
			if b[w] == '"' && keyIs(key, "received_at") {
				e.received = b[w:end]
			}
			return end, ok
		})
	}
	return valueEnd(b, v, depth)
}

// valueEnd checks the value at b[v], inside an object or array at nesting
// level depth, and returns the offset after it. Strings (most of a webhook
// body) and objects and arrays up to 16 levels deep are checked here: a call
// of jsonenc.CheckValue per key and value cost more than the check itself.
func valueEnd(b []byte, v, depth int) (int, bool) {
	if b[v] == '"' {
		return jsonenc.ValidString(b, v)
	}
	if depth < 16 {
		switch b[v] {
		case '{':
			return walkObject(b, v, func(_ []byte, w int) (int, bool) { return valueEnd(b, w, depth+1) })
		case '[':
			return walkArray(b, v, func(e int) (int, bool) { return valueEnd(b, e, depth+1) })
		}
	}
	end, f := jsonenc.CheckValue(b, v, depth, anyDepth)
	return end, f == jsonenc.FaultNone
}

// walkObject checks the syntax of the object at b[i] == '{' around its
// members, calling member with each raw key and the offset of its value;
// member checks the value and returns the offset after it. walkObject returns
// the offset after the object, and false as soon as anything is not valid.
func walkObject(b []byte, i int, member func(key []byte, v int) (int, bool)) (int, bool) {
	i = jsonenc.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		k, ok := valueEnd(b, i, 0)
		if !ok {
			return k, false
		}
		c := jsonenc.SkipSpace(b, k)
		if c >= len(b) || b[c] != ':' {
			return c, false
		}
		v := jsonenc.SkipSpace(b, c+1)
		if v >= len(b) {
			return v, false
		}
		end, ok := member(b[i:k], v)
		if !ok {
			return end, false
		}
		if i = jsonenc.SkipSpace(b, end); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '}':
			return i + 1, true
		case ',':
			i = jsonenc.SkipSpace(b, i+1)
		default:
			return i, false
		}
	}
}

// walkArray is walkObject for the array at b[i] == '[': elem checks the
// element at b[e] and returns the offset after it.
func walkArray(b []byte, i int, elem func(e int) (int, bool)) (int, bool) {
	i = jsonenc.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		if i >= len(b) {
			return i, false
		}
		end, ok := elem(i)
		if !ok {
			return end, false
		}
		if i = jsonenc.SkipSpace(b, end); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = jsonenc.SkipSpace(b, i+1)
		default:
			return i, false
		}
	}
}

// parseSlow is parse for any body: it checks the whole body first, then
// splits it, and words what is wrong.
func (p *parsed) parseSlow(body []byte) error {
	if !jsonenc.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return fmt.Errorf("body is not JSON: %w", err)
	}
	start := jsonenc.SkipSpace(body, 0)
	if body[start] != '{' {
		return errors.New(`body is not a JSON event object or {"events":[...]}`)
	}
	var events []byte
	haveEvents := false
	jsonenc.EachField(body[start:], func(key, val []byte) bool {
		if keyIs(key, "events") {
			events, haveEvents = val, true
		}
		return true
	})
	if !haveEvents || string(events) == "null" {
		p.addSlow(bytes.TrimSpace(body))
		return nil
	}
	if events[0] != '[' {
		return errors.New(`"events" is not an array`)
	}
	var bad error
	jsonenc.EachElement(events, func(i int, ev []byte) bool {
		if ev[0] != '{' {
			bad = fmt.Errorf("events[%d] is not an object", i)
			return false
		}
		p.addSlow(ev)
		return true
	})
	if bad != nil {
		return bad
	}
	if len(p.events) == 0 {
		return errors.New(`"events" is empty`)
	}
	return nil
}

func (p *parsed) addSlow(ev []byte) {
	var id, received []byte
	jsonenc.EachField(ev, func(key, val []byte) bool {
		switch {
		case keyIs(key, "external_id"):
			id = val
		case keyIs(key, "custom_info") && val[0] == '{':
			received = nil
			jsonenc.EachField(val, func(key, val []byte) bool {
				if keyIs(key, "received_at") && val[0] == '"' {
					received = val
				}
				return true
			})
		}
		return true
	})
	p.add(ev, id, received)
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

// keyIs compares a raw (quoted) key with name (plain ASCII), decoding
// escapes if any: only a longer key can be name escaped.
func keyIs(raw []byte, name string) bool {
	switch {
	case len(raw) == len(name)+2:
		return string(raw[1:len(raw)-1]) == name
	case len(raw) < len(name)+2:
		return false
	}
	return bytes.IndexByte(raw, '\\') >= 0 && unquote(raw) == name
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
