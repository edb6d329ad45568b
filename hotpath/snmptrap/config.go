package snmptrap

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/mutt-ops/mutt/internal/config"
)

// DevAddr is where `mutt dev` listens for traps unless MUTT_SNMP_ADDR says otherwise.
const DevAddr = "127.0.0.1:1162"

// Defaults of Config.
const (
	DefaultRate        = 1000
	DefaultBurst       = 2000
	DefaultWorkers     = 8
	DefaultReadBuffer  = 4 << 20
	DefaultDNSCacheTTL = 10 * time.Minute
	DefaultSubmitRetry = 5 * time.Second
	DefaultDLQMaxLen   = 10000
)

// Config is the static configuration of the trap receiver. The receiver is
// off when Addr is empty.
type Config struct {
	Addr string // MUTT_SNMP_ADDR (host:port, UDP)
	// Communities accepted for v1/v2c (MUTT_SNMP_COMMUNITIES); "*" accepts
	// any. Empty: v1 and v2c are refused.
	Communities []string
	// Users are the SNMPv3 USM users (MUTT_SNMP_V3_USERS, or the file named
	// by MUTT_SNMP_V3_USERS_FILE). Empty: v3 is refused.
	Users []User
	// EngineID is this receiver's snmpEngineID (MUTT_SNMP_ENGINE_ID, hex),
	// reported to INFORM senders during engine-ID discovery.
	EngineID string
	// Rate and Burst limit the traps accepted per source address per second
	// (MUTT_SNMP_RATE_PER_SOURCE, MUTT_SNMP_BURST_PER_SOURCE).
	Rate, Burst int
	// Workers is how many traps are submitted at once (MUTT_SNMP_WORKERS).
	Workers int
	// ReadBuffer is the socket receive buffer in bytes (MUTT_SNMP_READ_BUFFER).
	ReadBuffer int
	// ReverseDNS resolves the sender's address to a name for hostname when
	// the trap carries no sysName (MUTT_SNMP_REVERSE_DNS), cached for DNSCacheTTL
	// (MUTT_SNMP_DNS_CACHE_TTL).
	ReverseDNS  bool
	DNSCacheTTL time.Duration
	// SubmitRetry is how long a trap (not an INFORM, whose sender retries)
	// is retried while the producer refuses it or Redis is down
	// (MUTT_SNMP_SUBMIT_RETRY) before it goes to the dead-letter stream.
	SubmitRetry time.Duration
	// DLQMaxLen caps the dead-letter stream (MUTT_SNMP_DLQ_MAXLEN, approximate).
	DLQMaxLen int
}

// User is one SNMPv3 USM user. Keys are passphrases (localised to the
// engine ID of each message, as RFC 3414 §2.6 describes).
type User struct {
	Name     string `json:"user"`
	Auth     string `json:"auth"`               // MD5 | SHA | SHA224 | SHA256 | SHA384 | SHA512 | "" (noAuth)
	AuthKey  string `json:"auth_key,omitempty"` //nolint:gosec // a field name, not a credential
	Priv     string `json:"priv"`               // DES | AES | AES192 | AES256 | AES192C | AES256C | "" (noPriv)
	PrivKey  string `json:"priv_key,omitempty"` //nolint:gosec // a field name, not a credential
	authProt gosnmp.SnmpV3AuthProtocol
	privProt gosnmp.SnmpV3PrivProtocol
}

// ReadConfig reads the receiver's variables. With dev set, the receiver is
// on at DevAddr with the community "public" unless the environment says
// otherwise.
func ReadConfig(e *config.Env, dev bool) Config {
	addrDef, commDef := "", ""
	if dev {
		addrDef, commDef = DevAddr, "public"
	}
	c := Config{
		Addr:        e.Addr(addrDef, "MUTT_SNMP_ADDR"),
		Rate:        e.Int(DefaultRate, 1, 10000000, "MUTT_SNMP_RATE_PER_SOURCE"),
		Burst:       e.Int(DefaultBurst, 1, 10000000, "MUTT_SNMP_BURST_PER_SOURCE"),
		Workers:     e.Int(DefaultWorkers, 1, 1024, "MUTT_SNMP_WORKERS"),
		ReadBuffer:  e.Int(DefaultReadBuffer, 0, 1<<30, "MUTT_SNMP_READ_BUFFER"),
		ReverseDNS:  e.Bool(false, "MUTT_SNMP_REVERSE_DNS"),
		DNSCacheTTL: e.Duration(DefaultDNSCacheTTL, "MUTT_SNMP_DNS_CACHE_TTL"),
		SubmitRetry: e.Duration(DefaultSubmitRetry, "MUTT_SNMP_SUBMIT_RETRY"),
		DLQMaxLen:   e.Int(DefaultDLQMaxLen, 1, 100000000, "MUTT_SNMP_DLQ_MAXLEN"),
	}
	if _, _, set := e.Lookup("MUTT_SNMP_COMMUNITIES"); set || commDef == "" {
		c.Communities = e.List("MUTT_SNMP_COMMUNITIES")
	} else {
		c.Communities = []string{commDef}
	}
	if name, v, ok := e.Lookup("MUTT_SNMP_ENGINE_ID"); ok {
		id, err := hex.DecodeString(strings.TrimPrefix(strings.ReplaceAll(v, ":", ""), "0x"))
		if err != nil || len(id) < 5 || len(id) > 32 {
			e.Fail(name, "must be 5 to 32 bytes in hex (RFC 3411 SnmpEngineID), such as 80001f88046d757474")
		} else {
			c.EngineID = string(id)
		}
	}
	name, usersJSON, ok := e.Lookup("MUTT_SNMP_V3_USERS")
	if fname, path, fok := e.Lookup("MUTT_SNMP_V3_USERS_FILE"); fok {
		if ok {
			e.Fail(fname, "set MUTT_SNMP_V3_USERS or MUTT_SNMP_V3_USERS_FILE, not both")
		}
		b, err := os.ReadFile(path) // #nosec G304 -- the operator names the users file (MUTT_SNMP_V3_USERS_FILE)
		if err != nil {
			e.Fail(fname, "read %s: %v", path, err)
		}
		name, usersJSON, ok = fname, string(b), err == nil
	}
	if ok {
		users, err := ParseUsers([]byte(usersJSON))
		if err != nil {
			e.Fail(name, "%v", err)
		}
		c.Users = users
	}
	return c
}

// ParseUsers reads the JSON list of SNMPv3 users:
//
//	[{"user":"ops","auth":"SHA256","auth_key":"…","priv":"AES","priv_key":"…"}]
//
// Protocol names are case-insensitive; a key must be at least 8 characters
// (RFC 3414 §11.2); priv needs auth.
func ParseUsers(b []byte) ([]User, error) {
	var users []User
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&users); err != nil {
		return nil, fmt.Errorf(`must be a JSON array such as [{"user":"ops","auth":"SHA256","auth_key":"…","priv":"AES","priv_key":"…"}]: %w`, err)
	}
	var seen []string
	for i := range users {
		u := &users[i]
		if u.Name == "" {
			return nil, fmt.Errorf("user %d: \"user\" is empty", i)
		}
		if slices.Contains(seen, u.Name) {
			return nil, fmt.Errorf("user %q is listed twice", u.Name)
		}
		seen = append(seen, u.Name)
		var ok bool
		if u.authProt, ok = authProtocols[strings.ToUpper(u.Auth)]; !ok {
			return nil, fmt.Errorf("user %q: auth %q is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512 or empty", u.Name, u.Auth)
		}
		if u.privProt, ok = privProtocols[strings.ToUpper(u.Priv)]; !ok {
			return nil, fmt.Errorf("user %q: priv %q is not one of DES, AES, AES192, AES256, AES192C, AES256C or empty", u.Name, u.Priv)
		}
		switch {
		case u.authProt != gosnmp.NoAuth && len(u.AuthKey) < 8:
			return nil, fmt.Errorf("user %q: auth_key must be at least 8 characters", u.Name)
		case u.authProt == gosnmp.NoAuth && u.privProt != gosnmp.NoPriv:
			return nil, fmt.Errorf("user %q: priv needs auth", u.Name)
		case u.privProt != gosnmp.NoPriv && len(u.PrivKey) < 8:
			return nil, fmt.Errorf("user %q: priv_key must be at least 8 characters", u.Name)
		}
	}
	return users, nil
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"": gosnmp.NoAuth, "NONE": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA1": gosnmp.SHA,
	"SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"": gosnmp.NoPriv, "NONE": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES,
	"AES192": gosnmp.AES192, "AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// defaultEngineID is an RFC 3411 engine ID of format 4 (text) under
// net-snmp's enterprise number, from the host name, so it stays the same
// across restarts of one host.
func defaultEngineID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "mutt"
	}
	id := "\x80\x00\x1f\x88\x04" + "mutt-" + host
	if len(id) > 32 {
		id = id[:32]
	}
	return id
}
