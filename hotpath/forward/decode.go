package forward

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mutt-ops/mutt/hotpath/event"
	"github.com/mutt-ops/mutt/internal/jsonenc"
)

// decodeAlert is json.Unmarshal(data, a) for the alerts the alerter writes,
// at a fraction of the cost: one jsonenc.Valid pass, then the members are
// picked out by jsonenc.EachField, which may assume valid JSON. Anything
// unusual (escaped keys or strings, a key that only matches
// case-insensitively, a number that is not a plain integer) falls back to
// encoding/json, so the result is always what encoding/json would give
// (FuzzDecodeAlertMatchesEncodingJSON).
func decodeAlert(data []byte, a *event.Alert) error {
	i := jsonenc.SkipSpace(data, 0)
	if !jsonenc.Valid(data) || data[i] != '{' {
		return json.Unmarshal(data, a)
	}
	ok := jsonenc.EachField(data[i:], func(key, val []byte) bool { return setField(a, key, val) })
	if !ok {
		*a = event.Alert{}
		return json.Unmarshal(data, a)
	}
	return nil
}

// alertFields are the JSON names of event.Alert's fields.
var alertFields = []string{"event_id", "correlation_id", "received_at", "event_time", "hostname", "rule_id",
	"handling", "environment", "team", "severity", "description", "signature", "meta", "event"}

// setField stores one member; false means "let encoding/json decide".
func setField(a *event.Alert, rawKey, val []byte) bool {
	if bytes.IndexByte(rawKey, '\\') >= 0 {
		return false
	}
	key := rawKey[1 : len(rawKey)-1]
	null := string(val) == "null"
	switch string(key) {
	case "event_id":
		return setString(&a.EventID, val)
	case "correlation_id":
		return setString(&a.CorrelationID, val)
	case "hostname":
		return setString(&a.Hostname, val)
	case "handling":
		return setString(&a.Handling, val)
	case "environment":
		return setString(&a.Environment, val)
	case "team":
		return setString(&a.Team, val)
	case "description":
		return setString(&a.Description, val)
	case "signature":
		return setString(&a.Signature, val)
	case "received_at":
		return a.ReceivedAt.UnmarshalJSON(val) == nil // what encoding/json calls
	case "event_time":
		return a.EventTime.UnmarshalJSON(val) == nil
	case "rule_id":
		if null {
			return true
		}
		n, err := strconv.ParseInt(string(val), 10, 64)
		a.RuleID = n
		return err == nil
	case "severity":
		if null {
			a.Severity = nil
			return true
		}
		n, err := strconv.ParseInt(string(val), 10, strconv.IntSize)
		v := int(n)
		a.Severity = &v
		return err == nil
	case "meta":
		switch string(val) {
		case "true":
			a.Meta = true
		case "false":
			a.Meta = false
		default:
			return null
		}
		return true
	case "event":
		a.Original = json.RawMessage(val) // aliases the entry, which the item keeps anyway
		return true
	}
	for _, f := range alertFields {
		if strings.EqualFold(f, string(key)) {
			return false // encoding/json matches names case-insensitively
		}
	}
	return true // unknown member: ignored, as encoding/json does
}

// setString stores a plain JSON string; null leaves the field as it is.
func setString(dst *string, val []byte) bool {
	if string(val) == "null" {
		return true
	}
	if val[0] != '"' {
		return false
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return false
	}
	*dst = string(s)
	return true
}
