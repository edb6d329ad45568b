package event

import (
	"fmt"
	"strconv"
	"strings"
)

// facilityNames are the syslog facility keywords of RFC 5424 and RFC 5427
// (the names go-syslog and util-linux logger use), in code order, plus the
// aliases rsyslog and logger accept.
var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
	"ftp", "ntp", "security", "console", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var facilityAliases = map[string]int{"audit": 13, "clock": 15}

// MaxFacility is the highest syslog facility code (local7).
const MaxFacility = 23

// FacilityName is the keyword of a facility code 0–23 ("auth", "local4"), or
// "" for any other value.
func FacilityName(code int) string {
	if code < 0 || code > MaxFacility {
		return ""
	}
	return facilityNames[code]
}

// ParseFacility normalises a syslog facility to its code 0–23. It accepts the
// code as a decimal string ("4") and the keywords ("auth", "local4", also
// "LOCAL4" and with surrounding spaces). Anything else is an error saying
// what is allowed, so callers can put it in a 400 message.
func ParseFacility(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t != "" && t[0] >= '0' && t[0] <= '9' {
		n, err := strconv.Atoi(t)
		if err != nil || n > MaxFacility {
			return 0, fmt.Errorf("%s is not a facility: use a number 0-23 or a name such as auth or local4", quoteShort(s))
		}
		return n, nil
	}
	for code, name := range facilityNames {
		if t == name {
			return code, nil
		}
	}
	if code, ok := facilityAliases[t]; ok {
		return code, nil
	}
	return 0, fmt.Errorf("%s is not a facility: use a number 0-23 or a name such as auth or local4", quoteShort(s))
}
