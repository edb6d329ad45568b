package snmptrap_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/hotpath/ingest"
	"github.com/mutt-ops/mutt/hotpath/snmptrap"
	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/testenv"
)

// BenchmarkTrapIntake measures traps per second accepted into the ingest
// stream: UDP datagrams → decode → event → ingest.Server.Submit (rate limit
// and stream append in the local Redis). The sender keeps at most 4000
// datagrams ahead of the stream so the socket never overflows; traps/s is
// the figure for docs/PERFORMANCE.md "SNMP trap intake".
func BenchmarkTrapIntake(b *testing.B) {
	for _, c := range []struct {
		name string
		pkt  func(b *testing.B, i int) []byte
	}{
		{"v2c", v2cTrap},
		{"v3-authPriv-SHA-AES", v3Trap},
	} {
		b.Run(c.name, func(b *testing.B) { benchIntake(b, c.pkt) })
	}
}

func benchIntake(b *testing.B, pkt func(b *testing.B, i int) []byte) {
	rdb, keys := testenv.Redis(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(b, dynconfig.Set(ctx, rdb, keys, "ingest_max_rate", "10000000"))
	dyn := dynconfig.NewStore(rdb, keys, quiet)
	require.NoError(b, dyn.Reload(ctx))
	srv, err := ingest.New(ingest.Options{Config: ingest.Config{APIKeys: []string{"k"}}, Redis: rdb, Keys: keys,
		Dyn: dyn, Log: quiet, Registerer: prometheus.NewRegistry()})
	require.NoError(b, err)
	users, err := snmptrap.ParseUsers([]byte(`[{"user":"bench","auth":"SHA","auth_key":"authpass123","priv":"AES","priv_key":"privpass123"}]`))
	require.NoError(b, err)
	r, err := snmptrap.New(snmptrap.Options{Config: snmptrap.Config{Addr: "127.0.0.1:0", Communities: []string{"public"},
		Users: users, Rate: 1e7, Burst: 1e7, ReadBuffer: 8 << 20}, Submit: srv, Redis: rdb, DLQ: keys.Prefix + "dlq:snmp",
		Registerer: prometheus.NewRegistry(), Log: quiet})
	require.NoError(b, err)
	require.NoError(b, r.Listen())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("udp", r.Addr().String())
	require.NoError(b, err)
	defer func() { _ = conn.Close() }()
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = pkt(b, i)
	}
	inStream := func() int64 {
		n, err := stream.Depth(ctx, rdb, keys.IngestStreams()...) // events: an entry may hold several (ADR 0048)
		require.NoError(b, err)
		return n
	}

	b.ResetTimer()
	start := time.Now()
	sent := 0
	for b.Loop() {
		_, err := conn.Write(pkts[sent%len(pkts)])
		require.NoError(b, err)
		sent++
		if sent%250 == 0 {
			for int64(sent)-inStream() > 4000 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for inStream() < int64(sent) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d traps reached the stream", inStream(), sent)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "traps/s")
}

func v2cTrap(b *testing.B, i int) []byte {
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.SNMPv2Trap,
		RequestID: uint32(i), Variables: trapVars(i)} //nolint:gosec // small
	out, err := p.MarshalMsg()
	require.NoError(b, err)
	return out
}

func v3Trap(b *testing.B, i int) []byte {
	sp := &gosnmp.UsmSecurityParameters{UserName: "bench", AuthoritativeEngineID: "\x80\x00\x1f\x88\x80bench",
		AuthoritativeEngineBoots: 1, AuthoritativeEngineTime: 100,
		AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: "authpass123",
		PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "privpass123", Logger: gosnmp.NewLogger(nil)}
	require.NoError(b, sp.InitSecurityKeys())
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.AuthPriv, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: sp, ContextEngineID: sp.AuthoritativeEngineID, PDUType: gosnmp.SNMPv2Trap,
		MsgID: uint32(i + 1), RequestID: uint32(i + 1), Variables: trapVars(i), Logger: gosnmp.NewLogger(nil)} //nolint:gosec // small
	require.NoError(b, sp.InitPacket(p))
	out, err := p.MarshalMsg()
	require.NoError(b, err)
	return out
}

func trapVars(i int) []gosnmp.SnmpPDU {
	return []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(1000 + i)}, //nolint:gosec // small
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"},
		{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: i},
		{Name: ".1.3.6.1.2.1.2.2.1.2.3", Type: gosnmp.OctetString, Value: "GigabitEthernet0/3"},
		{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "edge-router-01.dc1.example.net"},
	}
}
