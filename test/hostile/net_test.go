package hostile

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowClients: slowloris clients that dribble their headers or their body
// a few bytes at a time. The listeners cut them (MUTT_HTTP_READ_HEADER_TIMEOUT
// 3s, MUTT_HTTP_READ_TIMEOUT and MUTT_INGEST_BODY_TIMEOUT 6s here) and serve
// everyone else meanwhile.
func slowClients(t *testing.T, in *instance, tl *tally, _ *rand.Rand) {
	const perListener = 40
	type slow struct {
		listener, addr, head string
	}
	var clients []slow
	for range perListener {
		clients = append(clients,
			slow{"ingest", in.ingest, "POST /ingest HTTP/1.1\r\nHost: x\r\nX-Slow: "},
			slow{"ingest", in.ingest, "POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + in.ingestKey +
				"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{\"hostname\":\"h\",\"message\":\""},
			slow{"api", in.api, "GET /api/v2/rules HTTP/1.1\r\nHost: x\r\nX-Slow: "},
			slow{"api", in.api, "POST /api/v2/rules HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + in.adminKey +
				"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"reason\":\""})
	}
	started := time.Now()
	var wg sync.WaitGroup
	cut := make([]time.Duration, len(clients))
	answers := make([]string, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", c.addr, 30*time.Second)
			if !assert.NoError(t, err) {
				return
			}
			defer func() { _ = conn.Close() }()
			if _, err := io.WriteString(conn, c.head); err != nil {
				return
			}
			// Read in the background: the server's answer (a 408 or nothing)
			// and the close that ends the dribble.
			closed := make(chan string, 1)
			go func() {
				_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
				b, _ := io.ReadAll(conn)
				closed <- string(b)
			}()
			tick := time.NewTicker(300 * time.Millisecond) // the attack's own pace
			defer tick.Stop()
			for {
				select {
				case a := <-closed:
					cut[i], answers[i] = time.Since(started), a
					return
				case <-tick.C:
					_, _ = io.WriteString(conn, "a") // a write error just means closed: the reader reports it
				}
			}
		}()
	}
	// Everyone else is served while the slow clients hold their connections.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, a := range []string{in.ingest, in.api} {
			assert.Equal(c, http.StatusOK, status("http://"+a+"/health"))
		}
	}, 30*time.Second, 100*time.Millisecond)
	served := time.Since(started)
	wg.Wait()
	var longest time.Duration
	for i, a := range answers {
		longest = max(longest, cut[i])
		if a == "" {
			tl.add(clients[i].listener, 0)
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(a)), nil)
		require.NoError(t, err, "answer to a slow client: %q", a)
		answer(tl, clients[i].listener, "slow client "+strings.SplitN(clients[i].head, "\r\n", 2)[0], resp, a)
	}
	require.Less(t, longest, 60*time.Second, "slow clients are cut after the read timeouts")
	t.Logf("slow clients: %d held connections; others served after %s; all cut within %s",
		len(clients), served.Round(time.Millisecond), longest.Round(time.Millisecond))
}

// connectionFlood opens 1000 idle connections to each HTTP listener (four
// times MUTT_HTTP_MAX_CONNS) and 400 concurrent valid ingest requests, then
// checks a request queued behind the flood is answered, and that the
// listeners are healthy once it ends.
func connectionFlood(t *testing.T, in *instance, tl *tally, _ *rand.Rand) {
	const idle = 1000
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for _, addr := range []string{in.ingest, in.api} {
		for range idle {
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil { // the kernel's accept queue is full: that is the flood working
				continue
			}
			conns = append(conns, c)
		}
	}
	started := time.Now()
	var wg sync.WaitGroup
	body := `{"hostname":"flood.example.com","timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","message":"flood"}`
	for range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+in.ingest+"/ingest", strings.NewReader(body))
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("X-API-KEY", in.ingestKey)
			resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
			if err != nil {
				tl.add("ingest", 0)
				tl.fail(fmt.Sprintf("flood ingest request: no answer: %v", err))
				return
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			answer(tl, "ingest", "flood ingest request", resp, string(b))
		}()
	}
	wg.Wait()
	answered := time.Since(started)
	for _, c := range conns {
		_ = c.Close()
	}
	t.Logf("connection flood: %d idle connections held, 400 concurrent ingest requests all answered within %s",
		len(conns), answered.Round(time.Millisecond))
}

// syslogGarbage sends garbage datagrams and frames to the syslog UDP and
// TCP listeners; a valid message afterwards is still accepted.
func syslogGarbage(t *testing.T, in *instance, _ *tally, r *rand.Rand) {
	garbage := [][]byte{{}, []byte("<"), []byte("<999>"), []byte("<13>"), []byte("<13>1 "), []byte("<-1>x"),
		[]byte("<13>1 2026-13-45T99:99:99Z h a p m [" + strings.Repeat("[", 2000)), []byte("\xff\xfe\xfd\x00\x00"),
		[]byte("<13>Oct 11 22:14:15 \xff\xfe app: \xed\xa0\x80"), []byte(strings.Repeat("A", 65000)),
		[]byte("<13>1 - - - - - [x@1 a=\"" + strings.Repeat("\\", 5000) + "\"] m"), []byte("<191>" + strings.Repeat("\x00", 1000))}
	for range 200 {
		b := make([]byte, r.IntN(2000))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		garbage = append(garbage, b)
	}
	udp, err := net.Dial("udp", in.syslogUDP)
	require.NoError(t, err)
	defer func() { _ = udp.Close() }()
	for _, g := range garbage {
		_, _ = udp.Write(g) // an oversize datagram fails here (EMSGSIZE): fine
	}

	// TCP: octet counts that lie, a frame with no end, binary, a frame cut
	// by the close, each on its own connection.
	frames := []string{"99999999999999999999 x", "5 abc", "-1 x", "0 ", "12", strings.Repeat("B", 200000),
		"<13>Oct 11 22:14:15 h app: no newline then close", "\x00\x01\x02\xff\n\n\n", "2147483647 " + strings.Repeat("z", 1000),
		"<13>1 " + strings.Repeat("[", 100000) + "\n"}
	for i := range 30 {
		b := make([]byte, r.IntN(5000))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		frames = append(frames, fmt.Sprintf("%d ", i*100)+string(b))
	}
	for _, f := range frames {
		c, err := net.DialTimeout("tcp", in.syslogTCP, 30*time.Second)
		require.NoError(t, err)
		_, _ = io.WriteString(c, f)
		_ = c.Close()
	}

	// Valid messages are accepted afterwards, on both listeners: matched by
	// the canary rule, they reach the audit log.
	tcp, err := net.DialTimeout("tcp", in.syslogTCP, 30*time.Second)
	require.NoError(t, err)
	defer func() { _ = tcp.Close() }()
	udpMark, tcpMark := in.canary+"-udp", in.canary+"-tcp"
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := io.WriteString(udp, "<13>Oct 11 22:14:15 canary.example.com app: "+udpMark)
		assert.NoError(c, err)
		_, err = io.WriteString(tcp, "<13>Oct 11 22:14:15 canary.example.com app: "+tcpMark+"\n")
		assert.NoError(c, err)
		assert.Positive(c, in.audited(c, udpMark), "udp")
		assert.Positive(c, in.audited(c, tcpMark), "tcp")
	}, 90*time.Second, time.Second, "the syslog listeners still accept valid messages")
	t.Logf("syslog: %d garbage datagrams and %d garbage TCP frames; valid messages accepted after", len(garbage), len(frames))
}

// snmpGarbage sends malformed SNMP datagrams (random bytes, truncated and
// lying BER, oversize) to the trap listener; a valid trap is queued after.
func snmpGarbage(t *testing.T, in *instance, _ *tally, r *rand.Rand) {
	good := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "hostile", PDUType: gosnmp.SNMPv2Trap, RequestID: 7,
		Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(1000)},
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"},
			{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.OctetString, Value: "garbage.example.com"},
		}}
	// The garbage derives from a trap without the canary, so a mutation
	// that stays valid cannot pass for the check's trap.
	base, err := good.MarshalMsg()
	require.NoError(t, err)
	good.Variables[2].Value = in.canary + "-snmp"
	valid, err := good.MarshalMsg()
	require.NoError(t, err)
	garbage := [][]byte{{}, {0x30}, {0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, {0x30, 0x80, 0x00, 0x00},
		append([]byte{0x30, 0x82, 0xff, 0xff}, base...), make([]byte, 65000), []byte("\x30\x03\x02\x01\x05")}
	for i := 1; i < len(base); i += 3 {
		garbage = append(garbage, base[:i]) // every truncation
	}
	for range 300 {
		b := append([]byte(nil), base...)
		for range 1 + r.IntN(4) { // flip bytes of the trap: lengths, tags, values
			b[r.IntN(len(b))] = byte(r.UintN(256))
		}
		garbage = append(garbage, b)
	}
	for range 100 {
		b := make([]byte, r.IntN(1500))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		garbage = append(garbage, b)
	}
	conn, err := net.Dial("udp", in.snmp)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	for _, g := range garbage {
		_, _ = conn.Write(g)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := conn.Write(valid)
		assert.NoError(c, err)
		assert.Positive(c, in.audited(c, in.canary+"-snmp"))
	}, 90*time.Second, time.Second, "the trap listener still queues a valid trap")
	t.Logf("snmp: %d garbage datagrams; a valid trap queued after", len(garbage))
}
