package snmptrap

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/config"
)

// RFC 3584 §3.1: generic traps 0-5 become snmpTraps.1-6, enterpriseSpecific
// becomes enterprise.0.specific.
func TestV1TrapOID(t *testing.T) {
	t.Parallel()
	ent := "1.3.6.1.4.1.9"
	for _, c := range []struct {
		generic, specific int
		want              string
	}{
		{0, 0, "1.3.6.1.6.3.1.1.5.1"}, {1, 0, "1.3.6.1.6.3.1.1.5.2"}, {2, 0, "1.3.6.1.6.3.1.1.5.3"},
		{3, 0, "1.3.6.1.6.3.1.1.5.4"}, {4, 0, "1.3.6.1.6.3.1.1.5.5"}, {5, 0, "1.3.6.1.6.3.1.1.5.6"},
		{6, 42, "1.3.6.1.4.1.9.0.42"}, {6, 0, "1.3.6.1.4.1.9.0.0"},
	} {
		assert.Equal(t, c.want, V1TrapOID(ent, c.generic, c.specific), "generic %d specific %d", c.generic, c.specific)
	}
}

var src = netip.MustParseAddrPort("192.0.2.7:50000")

func TestConvertValuesAreReadable(t *testing.T) {
	t.Parallel()
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.SNMPv2Trap, Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(9000123)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9.9.43.2.0.1"},
		{Name: ".1.3.6.1.4.1.1.1", Type: gosnmp.OctetString, Value: []byte("config changed\x00")},
		{Name: ".1.3.6.1.4.1.1.2", Type: gosnmp.OctetString, Value: []byte{0x00, 0x1a, 0xff}},
		{Name: ".1.3.6.1.4.1.1.3", Type: gosnmp.TimeTicks, Value: uint32(8640123)},
		{Name: ".1.3.6.1.4.1.1.4", Type: gosnmp.Counter64, Value: uint64(1 << 40)},
		{Name: ".1.3.6.1.4.1.1.5", Type: gosnmp.IPAddress, Value: "10.0.0.9"},
		{Name: ".1.3.6.1.4.1.1.6", Type: gosnmp.Null, Value: nil},
		{Name: ".1.3.6.1.6.3.18.1.3.0", Type: gosnmp.IPAddress, Value: "198.51.100.4"},
	}}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tr, err := Convert(p, src, at)
	require.NoError(t, err)
	assert.Equal(t, "1.3.6.1.4.1.9.9.43.2.0.1", tr.TrapOID)
	assert.Equal(t, uint32(9000123), tr.UpTime)
	assert.Equal(t, "198.51.100.4", tr.AgentAddress, "snmpTrapAddress.0 names the agent a relay forwarded for")
	assert.Nil(t, tr.Severity)
	env, err := tr.Envelope("edge-1")
	require.NoError(t, err)
	var o map[string]any
	require.NoError(t, json.Unmarshal(env.Original, &o))
	assert.Equal(t, []any{
		map[string]any{"oid": "1.3.6.1.4.1.1.1", "type": "OctetString", "value": "config changed"},
		map[string]any{"oid": "1.3.6.1.4.1.1.2", "type": "OctetString", "value": "00:1a:ff"},
		map[string]any{"oid": "1.3.6.1.4.1.1.3", "type": "TimeTicks", "value": "(8640123) 1d 0:00:01.23"},
		map[string]any{"oid": "1.3.6.1.4.1.1.4", "type": "Counter64", "value": float64(1 << 40)},
		map[string]any{"oid": "1.3.6.1.4.1.1.5", "type": "IpAddress", "value": "10.0.0.9"},
		map[string]any{"oid": "1.3.6.1.4.1.1.6", "type": "Null", "value": nil},
		map[string]any{"oid": "1.3.6.1.6.3.18.1.3.0", "type": "IpAddress", "value": "198.51.100.4"},
	}, o["variables"])
	assert.Equal(t, "2026-12-01T10:00:00Z", o["timestamp"])
	assert.Equal(t, "192.0.2.7", o["source_ip"])
	assert.Equal(t, "edge-1", env.Hostname)
	assert.Equal(t, at, env.Timestamp)
	assert.True(t, strings.HasPrefix(env.Message, "SNMP v2c trap 1.3.6.1.4.1.9.9.43.2.0.1 from edge-1: 1.3.6.1.4.1.1.1=config changed, "), env.Message)
}

func TestConvertRefusesWhatIsNotATrap(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]*gosnmp.SnmpPacket{
		"get":          {Version: gosnmp.Version2c, PDUType: gosnmp.GetRequest},
		"no trap oid":  {Version: gosnmp.Version2c, PDUType: gosnmp.SNMPv2Trap},
		"bad trap oid": {Version: gosnmp.Version2c, PDUType: gosnmp.SNMPv2Trap, Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.Integer, Value: 3}}},
		"v1 generic 9": {Version: gosnmp.Version1, PDUType: gosnmp.Trap, Enterprise: ".1.3.6.1", GenericTrap: 9},
		"v1 no ent":    {Version: gosnmp.Version1, PDUType: gosnmp.Trap, Enterprise: ""},
		"v1 PDU in v2": {Version: gosnmp.Version2c, PDUType: gosnmp.Trap, Enterprise: ".1.3"},
	} {
		_, err := Convert(p, src, time.Now())
		assert.Error(t, err, name)
	}
}

func TestParseUsers(t *testing.T) {
	t.Parallel()
	users, err := ParseUsers([]byte(testUsers))
	require.NoError(t, err)
	require.Len(t, users, 2)
	assert.Equal(t, gosnmp.SHA, users[0].authProt)
	assert.Equal(t, gosnmp.AES, users[0].privProt)
	assert.Equal(t, gosnmp.DES, users[1].privProt)
	for in, want := range map[string]string{
		`{}`:                              "must be a JSON array",
		`[{"user":""}]`:                   `"user" is empty`,
		`[{"user":"a","auth":"SHA1024"}]`: `auth "SHA1024" is not one of`,
		`[{"user":"a","auth":"SHA","auth_key":"short"}]`:      "auth_key must be at least 8",
		`[{"user":"a","priv":"AES","priv_key":"longenough"}]`: "priv needs auth",
		`[{"user":"a"},{"user":"a"}]`:                         "listed twice",
		`[{"user":"a","authkey":"x"}]`:                        "unknown field",
	} {
		_, err := ParseUsers([]byte(in))
		assert.ErrorContains(t, err, want, in)
	}
}

func TestReadConfig(t *testing.T) {
	t.Parallel()
	c := ReadConfig(config.FromMap(map[string]string{}), false)
	assert.Empty(t, c.Addr, "off unless MUTT_SNMP_ADDR is set")
	assert.Empty(t, c.Communities)

	e := config.FromMap(map[string]string{})
	c = ReadConfig(e, true)
	require.NoError(t, e.Err())
	assert.Equal(t, DevAddr, c.Addr)
	assert.Equal(t, []string{"public"}, c.Communities)

	e = config.FromMap(map[string]string{"MUTT_SNMP_ADDR": ":162", "MUTT_SNMP_COMMUNITIES": "a, b",
		"MUTT_SNMP_V3_USERS": testUsers, "MUTT_SNMP_ENGINE_ID": "0x80001f8804616263"})
	c = ReadConfig(e, false)
	require.NoError(t, e.Err())
	assert.Equal(t, []string{"a", "b"}, c.Communities)
	assert.Len(t, c.Users, 2)
	assert.Equal(t, "\x80\x00\x1f\x88\x04abc", c.EngineID)

	e = config.FromMap(map[string]string{"MUTT_SNMP_ADDR": "nope", "MUTT_SNMP_V3_USERS": "[{]",
		"MUTT_SNMP_ENGINE_ID": "zz", "MUTT_SNMP_V3_USERS_FILE": "/nonexistent/users.json"})
	ReadConfig(e, false)
	err := e.Err()
	require.Error(t, err)
	for _, v := range []string{"MUTT_SNMP_ADDR", "MUTT_SNMP_ENGINE_ID", "MUTT_SNMP_V3_USERS_FILE"} {
		assert.ErrorContains(t, err, v)
	}
}

// v3NotSequence is a v2c trap whose version byte says 3: gosnmp v1.47.0's
// UnmarshalTrap panics on it (nil security parameters).
func v3NotSequence(t testing.TB) []byte {
	b, err := seedPacketsRaw()[0].MarshalMsg()
	require.NoError(t, err)
	require.Equal(t, []byte{0x02, 0x01, 0x01}, b[2:5], "a short-form SEQUENCE, then version 2c")
	b[4] = 3
	return b
}

// A datagram that makes gosnmp's decoder panic is an error, and the
// receiver keeps the bytes it was given unchanged.
func TestDecodeSurvivesGosnmpPanics(t *testing.T) {
	t.Parallel()
	params, err := newParams(nil)
	require.NoError(t, err)
	in := v3NotSequence(t)
	kept := append([]byte(nil), in...)
	_, err = decode(params, in)
	require.ErrorContains(t, err, "undecodable message")
	require.Equal(t, kept, in)
}

// FuzzPacketToEvent feeds arbitrary datagrams through the decoder and the
// conversion: no panic, and every accepted trap becomes valid JSON with a
// normalised trap_oid.
func FuzzPacketToEvent(f *testing.F) {
	users, err := ParseUsers([]byte(testUsers))
	require.NoError(f, err)
	params, err := newParams(users)
	require.NoError(f, err)
	for _, p := range seedPackets(f) {
		f.Add(p)
	}
	f.Add([]byte("\x30\x03\x02\x01\x01"))
	f.Add(v3NotSequence(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = peekVersion(data)
		pkt, err := decode(params, data)
		if err != nil {
			return
		}
		tr, err := Convert(pkt, src, time.Unix(0, 0))
		if err != nil {
			return
		}
		require.NotEmpty(t, tr.TrapOID)
		require.False(t, strings.HasPrefix(tr.TrapOID, "."))
		env, err := tr.Envelope(tr.SourceIP)
		require.NoError(t, err)
		require.True(t, json.Valid(env.Original))
		require.LessOrEqual(t, len(env.Message), maxMessageBytes)
	})
}

// seedPackets are v1, v2c and inform messages as gosnmp encodes them.
func seedPackets(f *testing.F) [][]byte {
	var out [][]byte
	for _, p := range seedPacketsRaw() {
		b, err := p.MarshalMsg()
		require.NoError(f, err)
		out = append(out, b)
	}
	return out
}

func seedPacketsRaw() []*gosnmp.SnmpPacket {
	vars := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(12)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"},
		{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "sw1"},
		{Name: ".1.3.6.1.2.1.2.2.1.1.1", Type: gosnmp.Integer, Value: 1},
	}
	return []*gosnmp.SnmpPacket{
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.SNMPv2Trap, RequestID: 1, Variables: vars},
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.InformRequest, RequestID: 2, Variables: vars},
		{Version: gosnmp.Version1, Community: "public", PDUType: gosnmp.Trap, Variables: vars[2:],
			SnmpTrap: gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.9", AgentAddress: "10.0.0.1", GenericTrap: 6, SpecificTrap: 3, Timestamp: 5}},
	}
}

// countingResolver answers reverse lookups from a table and counts them.
type countingResolver struct {
	names map[string]string
	calls map[string]int
}

func (c *countingResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	c.calls[addr]++
	if n, ok := c.names[addr]; ok {
		return []string{n + "."}, nil
	}
	return nil, errors.New("no PTR")
}

// hostname: sysName.0 wins; else the reverse name of the agent (cached,
// failures too, until the TTL passes); else the agent's address; else the
// sender's.
func TestHostnameChoice(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	res := &countingResolver{names: map[string]string{"10.0.0.1": "core-sw1.example.net"}, calls: map[string]int{}}
	r := &Receiver{dns: &dnsCache{res: res, ttl: time.Minute, now: func() time.Time { return now }, m: map[string]dnsEntry{}}}
	ctx := context.Background()
	assert.Equal(t, "sw-sysname", r.hostname(ctx, Trap{SysName: "sw-sysname", AgentAddress: "10.0.0.1", SourceIP: "192.0.2.1"}))
	assert.Equal(t, "core-sw1.example.net", r.hostname(ctx, Trap{AgentAddress: "10.0.0.1", SourceIP: "192.0.2.1"}))
	assert.Equal(t, "core-sw1.example.net", r.hostname(ctx, Trap{SourceIP: "10.0.0.1"}))
	assert.Equal(t, "192.0.2.9", r.hostname(ctx, Trap{SourceIP: "192.0.2.9"}))
	assert.Equal(t, "192.0.2.9", r.hostname(ctx, Trap{SourceIP: "192.0.2.9"}))
	assert.Equal(t, map[string]int{"10.0.0.1": 1, "192.0.2.9": 1}, res.calls, "answers and failures are cached")
	now = now.Add(2 * time.Minute)
	r.hostname(ctx, Trap{SourceIP: "192.0.2.9"})
	assert.Equal(t, 2, res.calls["192.0.2.9"], "looked up again after the TTL")

	plain := &Receiver{}
	assert.Equal(t, "10.0.0.1", plain.hostname(ctx, Trap{AgentAddress: "10.0.0.1", SourceIP: "192.0.2.1"}),
		"without MUTT_SNMP_REVERSE_DNS the agent's address")
}
