package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// decodeEnvelope reads one ingest stream entry. It is json.Unmarshal(data,
// env) at a fraction of the cost (docs/PERFORMANCE.md, ADR 0036): one
// jsonenc.Object pass checks the syntax and picks out the members; anything
// unusual (escaped keys or strings, a key that only matches
// case-insensitively, a number that is not a plain integer) falls back to
// encoding/json, so the result and the errors are encoding/json's
// (FuzzDecodeEnvelopeMatchesEncodingJSON).
//
// One difference, on purpose: the carried original event ("event") is not
// checked again. The ingest streams are written only by MUTT's own receivers
// (the ACL users of mutt setup; DLQ replays move their entries back
// unchanged): the HTTP ingestor puts there the client's object only after
// jsonenc.Valid and utf8.Valid accepted it (ingest/decode.go), and the
// syslog and SNMP receivers write it themselves with jsonenc. Checking it a
// second time cost the alerter ≈ 10 % of its CPU. Its end is still found, so
// an entry that is not even an object of members fails as before.
func decodeEnvelope(data []byte, env *event.Envelope, id *uuid.UUID) error {
	o := jsonenc.NewObject(data)
	if !readObject(&o, env, true) {
		*env = event.Envelope{}
		if err := json.Unmarshal(data, env); err != nil {
			return fmt.Errorf("decode envelope: %w", err)
		}
	}
	return parseID(env, id)
}

// decodeEnvelopeAt is decodeEnvelope for the envelope that starts at
// data[start], an element of an array entry (ADR 0048); it returns the
// offset just past it. The fast path finds the end as it reads, so the
// array is scanned once.
func decodeEnvelopeAt(data []byte, start int, env *event.Envelope, id *uuid.UUID) (int, error) {
	start = jsonenc.SkipSpace(data, start)
	o := jsonenc.NewElement(data, start)
	end := start
	if readObject(&o, env, true) {
		end = o.End()
	} else {
		*env = event.Envelope{}
		if end = jsonenc.ValueEnd(data, start); end == start {
			return end, errors.New("decode envelope: no JSON value")
		}
		if err := json.Unmarshal(data[start:end], env); err != nil {
			return end, fmt.Errorf("decode envelope: %w", err)
		}
	}
	return end, parseID(env, id)
}

// parseID sets *id from env's event_id.
func parseID(env *event.Envelope, id *uuid.UUID) error {
	u, err := uuid.Parse(env.EventID)
	if err != nil {
		return fmt.Errorf("decode envelope: event_id %q: %w", env.EventID, err)
	}
	*id = u
	return nil
}

// envelopeFields are the JSON names of event.Envelope's fields.
var envelopeFields = []string{"event_id", "received_at", "correlation_id", "source", "hostname", "message",
	"timestamp", "severity", "trap_oid", "app_name", "facility", "event"}

// readEnvelope is the fast path of decodeEnvelope; false means "let
// encoding/json decide" (env is then partly set). trustOriginal skips
// checking the grammar of the "event" member (see decodeEnvelope).
func readEnvelope(data []byte, env *event.Envelope, trustOriginal bool) bool {
	o := jsonenc.NewObject(data)
	return readObject(&o, env, trustOriginal)
}

// readObject is readEnvelope on the object o reads.
func readObject(o *jsonenc.Object, env *event.Envelope, trustOriginal bool) bool {
	seenOriginal := false
	for {
		rawKey, ok := o.Next()
		if !ok {
			return o.Valid()
		}
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			return false
		}
		key := rawKey[1 : len(rawKey)-1]
		if string(key) == "event" {
			if seenOriginal {
				// A repeated "event" (never written by MUTT): only the
				// last is kept, so the skipped one would go unchecked;
				// encoding/json checks them all.
				return false
			}
			seenOriginal = true
			var val []byte
			if trustOriginal {
				val = o.Trusted()
			} else {
				val = o.Value()
			}
			if val == nil {
				return false
			}
			env.Original = json.RawMessage(val) // aliases the entry, which the item keeps anyway
			continue
		}
		val := o.Value()
		if val == nil || !setEnvelopeField(env, key, val) {
			return false
		}
	}
}

// setEnvelopeField stores one member but "event"; false means "let
// encoding/json decide".
func setEnvelopeField(env *event.Envelope, key, val []byte) bool {
	switch string(key) {
	case "event_id":
		return jsonenc.SetString(&env.EventID, val)
	case "correlation_id":
		return jsonenc.SetString(&env.CorrelationID, val)
	case "source":
		return jsonenc.SetString(&env.Source, val)
	case "hostname":
		return jsonenc.SetString(&env.Hostname, val)
	case "message":
		return jsonenc.SetString(&env.Message, val)
	case "trap_oid":
		return jsonenc.SetString(&env.TrapOID, val)
	case "app_name":
		return jsonenc.SetString(&env.AppName, val)
	case "received_at":
		return env.ReceivedAt.UnmarshalJSON(val) == nil // what encoding/json calls
	case "timestamp":
		return env.Timestamp.UnmarshalJSON(val) == nil
	case "severity":
		return jsonenc.SetIntPtr(&env.Severity, val)
	case "facility":
		return jsonenc.SetIntPtr(&env.Facility, val)
	}
	return !jsonenc.FoldsToAny(key, envelopeFields) // unknown member: ignored, as encoding/json does
}
