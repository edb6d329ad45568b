package moogsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// The simulator must keep up with the whole pipeline's throughput on the same
// machine, so a body is checked once with jsonenc.Valid and then split with
// jsonenc.EachField and jsonenc.EachElement, which may assume valid JSON;
// decoding every event with encoding/json cost several times more.

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
	p.events = append(p.events, ev)
	p.ids = append(p.ids, externalID(id))
	p.received = append(p.received, received)
}

func parse(body []byte) (parsed, error) {
	var p parsed
	if !jsonenc.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return p, fmt.Errorf("body is not JSON: %w", err)
	}
	start := jsonenc.SkipSpace(body, 0)
	if body[start] != '{' {
		return p, errors.New(`body is not a JSON event object or {"events":[...]}`)
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
		p.add(bytes.TrimSpace(body))
		return p, nil
	}
	if events[0] != '[' {
		return parsed{}, errors.New(`"events" is not an array`)
	}
	var bad error
	jsonenc.EachElement(events, func(i int, ev []byte) bool {
		if ev[0] != '{' {
			bad = fmt.Errorf("events[%d] is not an object", i)
			return false
		}
		p.add(ev)
		return true
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
