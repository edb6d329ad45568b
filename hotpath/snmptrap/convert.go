package snmptrap

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/mutt-ops/mutt/internal/event"
)

// Well-known OIDs (normalised: no leading dot).
const (
	oidSysUpTime       = "1.3.6.1.2.1.1.3.0"
	oidSnmpTrapOID     = "1.3.6.1.6.3.1.1.4.1.0"
	oidSysName         = "1.3.6.1.2.1.1.5.0"
	oidSnmpTrapAddress = "1.3.6.1.6.3.18.1.3.0"
	// oidStandardTraps is snmpTraps: RFC 3584 §3.1 maps v1 generic trap g
	// (0-5) to oidStandardTraps.(g+1).
	oidStandardTraps = "1.3.6.1.6.3.1.1.5"
)

// Limits of what one trap may put into an event, so a hostile or broken
// agent cannot make events larger than the ingestor accepts over HTTP.
const (
	maxVariables    = 256
	maxValueBytes   = 4096
	maxMessageBytes = 8192
	maxHostBytes    = 255
)

// standardTraps names the six generic traps (index = generic-trap number)
// and gives each the syslog severity an operator expects of it.
var standardTraps = [...]struct {
	name     string
	severity int
}{
	{"coldStart", 5}, {"warmStart", 5}, {"linkDown", 3}, {"linkUp", 5},
	{"authenticationFailure", 4}, {"egpNeighborLoss", 3},
}

// Variable is one varbind of a trap as it appears in the event.
type Variable struct {
	OID   string `json:"oid"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Trap is a decoded notification, before the hostname is chosen.
type Trap struct {
	Version      string // v1 | v2c | v3
	PDU          string // trap | inform
	TrapOID      string
	SourceIP     string
	AgentAddress string // v1 agent-addr or snmpTrapAddress.0; "" when absent or 0.0.0.0
	SysName      string // sysName.0 varbind, when printable
	Enterprise   string // v1 only
	Generic      int    // v1 only
	Specific     int    // v1 only
	UpTime       uint32 // hundredths of a second (sysUpTime.0 or the v1 time-stamp)
	HasUpTime    bool
	User         string // v3 user name
	Severity     *int
	Variables    []Variable
	Received     time.Time
}

// errNotTrap is returned for a PDU that is not a notification (a Get or Set
// sent to the trap port).
var errNotTrap = errors.New("not a trap or inform PDU")

// Convert turns a decoded packet into a Trap. It never panics on any packet
// gosnmp decoded; a packet that is not a usable notification is an error
// naming what is wrong.
func Convert(p *gosnmp.SnmpPacket, src netip.AddrPort, received time.Time) (Trap, error) {
	t := Trap{SourceIP: src.Addr().Unmap().String(), Received: received}
	switch p.Version {
	case gosnmp.Version1:
		t.Version = "v1"
	case gosnmp.Version2c:
		t.Version = "v2c"
	case gosnmp.Version3:
		t.Version = "v3"
		if usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok && usm != nil {
			t.User = usm.UserName
		}
	default:
		return t, fmt.Errorf("unknown SNMP version %d", p.Version)
	}
	vars := p.Variables
	switch p.PDUType {
	case gosnmp.Trap:
		if p.Version != gosnmp.Version1 {
			return t, errors.New("an SNMPv1 trap PDU in a v2c/v3 message")
		}
		t.PDU = "trap"
		enterprise, ok := event.NormalizeOID(p.Enterprise)
		if !ok {
			return t, fmt.Errorf("v1 trap: enterprise %q is not an OID", p.Enterprise)
		}
		if p.GenericTrap < 0 || p.GenericTrap > 6 {
			return t, fmt.Errorf("v1 trap: generic-trap %d is not 0-6", p.GenericTrap)
		}
		if p.SpecificTrap < 0 {
			return t, fmt.Errorf("v1 trap: specific-trap %d is negative", p.SpecificTrap)
		}
		t.Enterprise, t.Generic, t.Specific = enterprise, p.GenericTrap, p.SpecificTrap
		t.TrapOID = V1TrapOID(enterprise, p.GenericTrap, p.SpecificTrap)
		t.UpTime, t.HasUpTime = uint32(p.Timestamp&math.MaxUint32), true //nolint:gosec // masked
		if a, err := netip.ParseAddr(p.AgentAddress); err == nil && !a.IsUnspecified() {
			t.AgentAddress = a.String()
		}
	case gosnmp.SNMPv2Trap, gosnmp.InformRequest:
		if p.Version == gosnmp.Version1 {
			return t, errors.New("a v2 notification PDU in an SNMPv1 message")
		}
		t.PDU = "trap"
		if p.PDUType == gosnmp.InformRequest {
			t.PDU = "inform"
		}
		// RFC 3416 §4.2.6: sysUpTime.0 then snmpTrapOID.0 come first;
		// tolerate agents that put them elsewhere.
		rest := make([]gosnmp.SnmpPDU, 0, len(vars))
		for _, v := range vars {
			name, _ := event.NormalizeOID(v.Name)
			switch {
			case name == oidSysUpTime && !t.HasUpTime:
				if ticks, ok := v.Value.(uint32); ok {
					t.UpTime, t.HasUpTime = ticks, true
					continue
				}
			case name == oidSnmpTrapOID && t.TrapOID == "":
				if s, ok := v.Value.(string); ok {
					if oid, ok := event.NormalizeOID(s); ok {
						t.TrapOID = oid
						continue
					}
				}
				return t, errors.New("snmpTrapOID.0 is not an OBJECT IDENTIFIER")
			}
			rest = append(rest, v)
		}
		if t.TrapOID == "" {
			return t, errors.New("no snmpTrapOID.0 varbind")
		}
		vars = rest
	default:
		return t, fmt.Errorf("%w: %s", errNotTrap, p.PDUType)
	}
	if len(vars) > maxVariables {
		return t, fmt.Errorf("%d varbinds, more than %d", len(vars), maxVariables)
	}
	t.Variables = make([]Variable, 0, len(vars))
	for _, v := range vars {
		name, ok := event.NormalizeOID(v.Name)
		if !ok {
			return t, fmt.Errorf("varbind name %q is not an OID", v.Name)
		}
		val := Variable{OID: name, Type: typeName(v.Type), Value: readable(v)}
		t.Variables = append(t.Variables, val)
		switch name {
		case oidSysName:
			if s, ok := val.Value.(string); ok && v.Type == gosnmp.OctetString && printable(s) && s != "" {
				t.SysName = truncate(strings.TrimSpace(s), maxHostBytes)
			}
		case oidSnmpTrapAddress:
			if a, err := netip.ParseAddr(fmt.Sprint(val.Value)); err == nil && !a.IsUnspecified() && t.AgentAddress == "" {
				t.AgentAddress = a.String()
			}
		}
	}
	if g, ok := standardIndex(t.TrapOID); ok {
		sev := standardTraps[g].severity
		t.Severity = &sev
	}
	return t, nil
}

// V1TrapOID is the SNMPv2 notification OID of an SNMPv1 trap (RFC 3584 §3.1):
// generic traps 0-5 are snmpTraps.(generic+1); an enterpriseSpecific(6) trap
// is enterprise.0.specific.
func V1TrapOID(enterprise string, generic, specific int) string {
	if generic >= 0 && generic < len(standardTraps) {
		return oidStandardTraps + "." + strconv.Itoa(generic+1)
	}
	return enterprise + ".0." + strconv.Itoa(specific)
}

// standardIndex is the generic-trap number of one of the six standard
// notification OIDs.
func standardIndex(oid string) (int, bool) {
	rest, ok := strings.CutPrefix(oid, oidStandardTraps+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > len(standardTraps) {
		return 0, false
	}
	return n - 1, true
}

// Name is the notification's well-known name, "" when it has none here
// (MIB files are not read).
func (t Trap) Name() string {
	if g, ok := standardIndex(t.TrapOID); ok {
		return standardTraps[g].name
	}
	return ""
}

// Message renders the trap as one readable line:
// "SNMP v2c trap linkDown (1.3.6.1.6.3.1.1.5.3) from 10.0.0.1: ifIndex.2=2, …".
func (t Trap) Message(host string) string {
	var b strings.Builder
	b.WriteString("SNMP ")
	b.WriteString(t.Version)
	b.WriteByte(' ')
	b.WriteString(t.PDU)
	b.WriteByte(' ')
	if n := t.Name(); n != "" {
		b.WriteString(n)
		b.WriteString(" (")
		b.WriteString(t.TrapOID)
		b.WriteByte(')')
	} else {
		b.WriteString(t.TrapOID)
	}
	b.WriteString(" from ")
	b.WriteString(host)
	for i, v := range t.Variables {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(v.OID)
		b.WriteByte('=')
		switch x := v.Value.(type) {
		case nil:
			b.WriteString(v.Type)
		case string:
			b.WriteString(x)
		default:
			b.WriteString(fmt.Sprint(x))
		}
		if b.Len() > maxMessageBytes {
			break
		}
	}
	return truncate(b.String(), maxMessageBytes)
}

// object is the event's JSON as it is audited and forwarded.
type object struct {
	Hostname       string     `json:"hostname"`
	SourceIP       string     `json:"source_ip"`
	Timestamp      string     `json:"timestamp"`
	Message        string     `json:"message"`
	TrapOID        string     `json:"trap_oid"`
	TrapName       string     `json:"trap_name,omitempty"`
	SyslogSeverity *int       `json:"syslog_severity,omitempty"`
	SNMPVersion    string     `json:"snmp_version"`
	PDUType        string     `json:"pdu_type"`
	User           string     `json:"snmp_user,omitempty"`
	AgentAddress   string     `json:"agent_address,omitempty"`
	Enterprise     string     `json:"enterprise,omitempty"`
	GenericTrap    *int       `json:"generic_trap,omitempty"`
	SpecificTrap   *int       `json:"specific_trap,omitempty"`
	UpTime         *uint32    `json:"sys_uptime,omitempty"`
	Variables      []Variable `json:"variables"`
}

// Envelope builds the event for host (see Receiver.hostname). The ingest
// producer stamps event_id, received_at, correlation_id and source.
func (t Trap) Envelope(host string) (event.Envelope, error) {
	o := object{
		Hostname: host, SourceIP: t.SourceIP, Timestamp: t.Received.UTC().Format(time.RFC3339Nano),
		Message: t.Message(host), TrapOID: t.TrapOID, TrapName: t.Name(), SyslogSeverity: t.Severity,
		SNMPVersion: t.Version, PDUType: t.PDU, User: t.User, AgentAddress: t.AgentAddress,
		Enterprise: t.Enterprise, Variables: t.Variables,
	}
	if t.Version == "v1" {
		g, s := t.Generic, t.Specific
		o.GenericTrap, o.SpecificTrap = &g, &s
	}
	if t.HasUpTime {
		u := t.UpTime
		o.UpTime = &u
	}
	raw, err := json.Marshal(o)
	if err != nil {
		return event.Envelope{}, fmt.Errorf("encode trap event: %w", err)
	}
	return event.Envelope{
		Source: event.SourceSNMP, Hostname: host, Message: o.Message, Timestamp: t.Received.UTC(),
		Severity: t.Severity, TrapOID: t.TrapOID, Original: raw,
	}, nil
}

// typeName is the SMI name of a varbind type.
func typeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.Integer:
		return "Integer"
	case gosnmp.BitString:
		return "BitString"
	case gosnmp.OctetString:
		return "OctetString"
	case gosnmp.Null:
		return "Null"
	case gosnmp.ObjectIdentifier:
		return "ObjectIdentifier"
	case gosnmp.IPAddress:
		return "IpAddress"
	case gosnmp.Counter32:
		return "Counter32"
	case gosnmp.Gauge32:
		return "Gauge32"
	case gosnmp.TimeTicks:
		return "TimeTicks"
	case gosnmp.Opaque, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		return "Opaque"
	case gosnmp.NsapAddress:
		return "NsapAddress"
	case gosnmp.Counter64:
		return "Counter64"
	case gosnmp.Uinteger32:
		return "Unsigned32"
	case gosnmp.NoSuchObject:
		return "noSuchObject"
	case gosnmp.NoSuchInstance:
		return "noSuchInstance"
	case gosnmp.EndOfMibView:
		return "endOfMibView"
	}
	return "0x" + strconv.FormatUint(uint64(t), 16)
}

// readable is a varbind's value as JSON can carry it: numbers as numbers,
// OCTET STRINGs as text when printable UTF-8 else as colon-separated hex,
// OIDs without the leading dot, TimeTicks as "(ticks) d:hh:mm:ss.cc".
func readable(v gosnmp.SnmpPDU) any {
	switch x := v.Value.(type) {
	case nil:
		return nil
	case []byte:
		if v.Type == gosnmp.OctetString && printable(string(x)) {
			return truncate(string(x), maxValueBytes)
		}
		return hexString(x)
	case string:
		switch v.Type {
		case gosnmp.ObjectIdentifier:
			return strings.TrimPrefix(x, ".")
		case gosnmp.OctetString:
			if printable(x) {
				return truncate(x, maxValueBytes)
			}
			return hexString([]byte(x))
		}
		if printable(x) {
			return truncate(x, maxValueBytes)
		}
		return hexString([]byte(x))
	case uint32:
		if v.Type == gosnmp.TimeTicks {
			return ticks(x)
		}
		return x
	case int, uint, int64, uint64, uint8, int32:
		return x
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Sprint(x)
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return x
	case *big.Int:
		if x == nil {
			return nil
		}
		return x.String()
	}
	return truncate(fmt.Sprint(v.Value), maxValueBytes)
}

// ticks renders TimeTicks as net-snmp does: "(12345) 0:02:03.45".
func ticks(t uint32) string {
	cs := t % 100
	s := t / 100
	d, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	day := ""
	if d > 0 {
		day = strconv.FormatUint(uint64(d), 10) + "d "
	}
	return fmt.Sprintf("(%d) %s%d:%02d:%02d.%02d", t, day, h, m, s, cs)
}

// printable is valid UTF-8 with no control characters other than tab, CR
// and LF (a trailing NUL, common in C agents, is tolerated).
func printable(s string) bool {
	s = strings.TrimSuffix(s, "\x00")
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

func hexString(b []byte) string {
	if len(b) > maxValueBytes/3 {
		b = b[:maxValueBytes/3]
	}
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = hex.AppendEncode(out, []byte{c})
	}
	return string(out)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	s = strings.TrimSuffix(s, "\x00")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
