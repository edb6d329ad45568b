// Package syslog receives syslog over UDP, TCP (RFC 6587 octet counting and
// non-transparent framing, detected per frame) and TLS (RFC 5425), parses
// RFC 5424 and RFC 3164 messages with github.com/leodido/go-syslog, and hands
// batches of envelopes to the ingestor's Submit, the same path HTTP ingest
// takes (rate limit, backlog limit, shards, event ids, metrics).
//
// TCP and TLS apply backpressure: while Submit refuses (rate limit, backlog,
// Redis down) a listener stops reading and retries the batch it holds, so
// nothing read is dropped. UDP cannot push back: what it cannot queue is
// counted (mutt_syslog_dropped_total) next to the kernel's own receive-buffer
// drops. A message that cannot be parsed goes to the dead-letter stream
// keyspace.SyslogDLQ with the raw bytes and never stops a listener.
//
// It may import internal/event, hotpath/ingest (for Refused) and internal/.
// It must not import the alerter, the forwarder, the admin API or PostgreSQL.
package syslog
