// Package snmptrap is MUTT's native SNMP-trap receiver: it listens on UDP for
// SNMPv1, v2c and v3 (USM) traps and INFORMs, turns each into an event
// envelope (trap_oid, source_ip, hostname, variables, message) and hands it
// to the ingestor's producer (the same rate limit, backlog limit, shards and
// metrics as HTTP ingest). An INFORM is acknowledged only after the producer
// said the event is in Redis; a packet that cannot be decoded or accepted is
// counted and kept in a dead-letter stream with the reason and its bytes.
//
// Packets are decoded and encoded with github.com/gosnmp/gosnmp; the UDP loop,
// the USM engine-ID discovery answer and the INFORM acknowledgement are this
// package's (docs/adr/0019-snmp-trap-receiver.md says why).
//
// It must not import the HTTP ingestor (it declares the Submitter it needs),
// the alerter, or PostgreSQL.
package snmptrap
