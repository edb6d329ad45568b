package event

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// severityNames maps every accepted severity name (lower case) to its syslog
// level. Besides the RFC 5424 keywords it holds the words rsyslog emits
// ("emerg", "crit", "err", "warning", …) and the Moogsoft-style words of the
// peer's sample traps ("major", "minor", "informational").
var severityNames = map[string]int{
	"emerg": 0, "emergency": 0, "panic": 0,
	"alert": 1,
	"crit":  2, "critical": 2,
	"err": 3, "error": 3, "major": 3,
	"warn": 4, "warning": 4, "minor": 4,
	"notice": 5,
	"info":   6, "informational": 6, "information": 6,
	"debug": 7,
}

// ParseSeverity normalises a syslog severity to 0 (emergency) … 7 (debug).
// It accepts an integral number 0–7 (any Go number type, a json.Number, or a
// numeric string such as "3") and the names listed in severityNames, in any
// case and with surrounding spaces. Anything else is an error saying what is
// allowed, so callers can put it in a 400 message.
func ParseSeverity(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return severityFromInt(int64(x), v)
	case int8:
		return severityFromInt(int64(x), v)
	case int16:
		return severityFromInt(int64(x), v)
	case int32:
		return severityFromInt(int64(x), v)
	case int64:
		return severityFromInt(x, v)
	case uint:
		return severityFromUint(uint64(x), v)
	case uint8:
		return severityFromUint(uint64(x), v)
	case uint16:
		return severityFromUint(uint64(x), v)
	case uint32:
		return severityFromUint(uint64(x), v)
	case uint64:
		return severityFromUint(x, v)
	case float32:
		return severityFromFloat(float64(x), v)
	case float64:
		return severityFromFloat(x, v)
	case json.Number:
		return severityFromText(string(x), v)
	case string:
		return severityFromText(x, v)
	case nil:
		return 0, fmt.Errorf("null is not a severity: %s", severityAllowed)
	default:
		return 0, fmt.Errorf("a value of type %T is not a severity: %s", v, severityAllowed)
	}
}

const severityAllowed = "use a number 0-7 or a name (emergency, alert, critical, error, warning, notice, info, debug)"

func severityFromInt(n int64, orig any) (int, error) {
	if n < 0 || n > 7 {
		return 0, notSeverity(orig)
	}
	return int(n), nil
}

func severityFromUint(n uint64, orig any) (int, error) {
	if n > 7 {
		return 0, notSeverity(orig)
	}
	return int(n), nil
}

func severityFromFloat(f float64, orig any) (int, error) {
	// 3.0 is the number 3 (JSON does not distinguish); 3.5 and NaN are not severities.
	if math.IsNaN(f) || f != math.Trunc(f) || f < 0 || f > 7 {
		return 0, notSeverity(orig)
	}
	return int(f), nil
}

// SeverityName is the level of a severity name such as "Error" or " warning"
// (any case, surrounding space ignored); ok is false for anything else,
// numbers included. Unlike ParseSeverity it keeps s to itself, so a caller
// may pass string(someBytes) without that allocating.
func SeverityName(s string) (level int, ok bool) {
	t := strings.TrimSpace(s)
	// Lower-case into a stack buffer: this runs for most events, and the
	// longest name fits in 16 bytes.
	var low [16]byte
	if len(t) > len(low) {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	level, ok = severityNames[string(low[:len(t)])]
	return level, ok
}

func severityFromText(s string, orig any) (int, error) {
	if n, ok := SeverityName(s); ok {
		return n, nil
	}
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return severityFromInt(n, orig)
	}
	// A JSON number may be written 3.0 or 3e0; hexadecimal floats are not JSON.
	if f, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xX") {
		return severityFromFloat(f, orig)
	}
	return 0, notSeverity(orig)
}

func notSeverity(orig any) error {
	var shown string
	switch x := orig.(type) {
	case string:
		shown = quoteShort(x)
	case json.Number:
		shown = string(x)
		if len(shown) > 40 {
			shown = shown[:40] + "…"
		}
	default:
		shown = fmt.Sprint(orig)
	}
	return fmt.Errorf("%s is not a severity: %s", shown, severityAllowed)
}

// quoteShort quotes s for an error message, cut to 40 bytes so a huge value
// does not end up in logs and responses.
func quoteShort(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}
