package jsonenc

import (
	"bytes"
	"fmt"
	"testing"
)

// benchBatch is a 100-event JSON array shaped like ingest's batches (string,
// number, literal, array and nested object values), what Valid and
// CheckValue read on the hot path.
func benchBatch() []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"hostname":"edge-router-%03d.dc1.example.net","timestamp":"2025-01-02T03:04:%02d.1234567Z",`+
			`"message":"%%LINK-3-UPDOWN: Interface Gi0/%d, changed state to down \u00e9","syslog_severity":%d,`+
			`"ok":true,"none":null,"variables":[{"oid":"1.3.6.1.2.1.2.2.1.1.%d","value":-%d.5e3},[1,2,3]]}`,
			i, i%60, i%48, i%8, i, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func BenchmarkValid(b *testing.B) {
	body := benchBatch()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !Valid(body) {
			b.Fatal("not valid")
		}
	}
}

func BenchmarkCheckValue(b *testing.B) {
	body := benchBatch()
	lim := Limits{MaxDepth: 32, MaxString: 64 << 10}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if end, fault := CheckValue(body, 0, 0, lim); fault != FaultNone || end != len(body) {
			b.Fatal(end, fault)
		}
	}
}

// BenchmarkAppendString is the strings of an ingest envelope: a host name,
// a syslog message, and a message with a quote and a non-ASCII character.
func BenchmarkAppendString(b *testing.B) {
	strs := []string{
		"edge-router-042.dc1.example.net",
		"%LINK-3-UPDOWN: Interface GigabitEthernet0/12, changed state to down",
		`sshd[1234]: Failed password for "admin" from 10.1.2.3 port 22 — retrying`,
	}
	var n int
	for _, s := range strs {
		n += len(s)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = buf[:0]
		for _, s := range strs {
			buf = AppendString(buf, s)
		}
	}
}
