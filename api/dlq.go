package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/internal/correlation"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/workflows"
)

// DLQAuditTable is config_audit_log.table_name of a change to a dead-letter
// stream (a console replay or discard, a muttdev purge).
const DLQAuditTable = "dlq"

// DLQNames are the dead-letter streams, in the order the console lists them.
var DLQNames = []string{workflows.DLQAlerter, workflows.DLQMoog, workflows.DLQPoison, workflows.DLQSyslog, workflows.DLQSNMP}

// DLQKey is the Redis key of a dead-letter stream; false for an unknown name.
func DLQKey(k keyspace.Keys, name string) (string, bool) {
	switch name {
	case workflows.DLQAlerter:
		return k.AlerterDLQ(), true
	case workflows.DLQMoog:
		return k.MoogDLQ(), true
	case workflows.DLQPoison:
		return k.PoisonDLQ(), true
	case workflows.DLQSyslog:
		return k.SyslogDLQ(), true
	case workflows.DLQSNMP:
		return k.SNMPDLQ(), true
	}
	return "", false
}

// dlqReplayable: the remediation workflow replays only these; the others
// (raw input that failed to parse, parked poison) can only be discarded.
func dlqReplayable(name string) bool {
	return name == workflows.DLQAlerter || name == workflows.DLQMoog
}

// DLQEntry is one dead letter as the console and `muttdev dlq show` show it.
type DLQEntry struct {
	ID           string `json:"id"`
	Reason       string `json:"reason"`
	Error        string `json:"error"`
	Attempts     string `json:"attempts"`
	FailedAt     string `json:"failed_at"`
	SourceStream string `json:"source_stream"`
	SourceID     string `json:"source_id"`
	SourceIP     string `json:"source_ip,omitempty"` // syslog and SNMP receivers
	Replays      string `json:"replays,omitempty"`
	// Data is the original message: JSON as stored, else a JSON string, or
	// {"raw_base64": …} for bytes that are not UTF-8 (an SNMP packet).
	Data json.RawMessage `json:"data"`
}

// NewDLQEntry reads a dead-letter stream entry (hotpath/stream.Consumer.DeadLetter's fields).
func NewDLQEntry(m redis.XMessage) DLQEntry {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	e := DLQEntry{ID: m.ID, Reason: str("reason"), Error: str("error"), Attempts: str("attempts"), FailedAt: str("failed_at"),
		SourceStream: str("source_stream"), SourceID: str("source_id"), SourceIP: str("source_ip"), Replays: str(stream.ReplaysField)}
	d := str(stream.Field)
	if d == "" {
		d = str("raw") // the syslog and SNMP receivers keep the bytes they could not parse
	}
	switch {
	case json.Valid([]byte(d)):
		e.Data = json.RawMessage(d)
	case utf8.ValidString(d):
		e.Data, _ = json.Marshal(d)
	default:
		e.Data, _ = json.Marshal(map[string]string{"raw_base64": base64.StdEncoding.EncodeToString([]byte(d))})
	}
	return e
}

// dlqSummary is one dead-letter stream in GET /dlq.
type dlqSummary struct {
	Name           string `json:"name"`
	Stream         string `json:"stream"`
	Entries        int64  `json:"entries"`
	OldestFailedAt string `json:"oldest_failed_at,omitempty"`
	Replayable     bool   `json:"replayable"`
}

// Bounds of the DLQ endpoints.
const (
	dlqDefaultCount = 50
	dlqMaxCount     = 500
	// dlqMaxScan bounds the entries one filtered page may read past.
	dlqMaxScan = 10000
	// dlqMaxReasons bounds the reasons a filter may name.
	dlqMaxReasons = 20
	// dlqMaxAll bounds what one "all matching" action examines.
	dlqMaxAll = 1_000_000
)

var validDLQID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

func (s *Server) registerDLQ(g, admin *gin.RouterGroup, _ string) {
	g.GET("/dlq", s.listDLQs)
	g.GET("/dlq/:name", s.listDLQEntries)
	admin.POST("/dlq/:name/replay", func(c *gin.Context) { s.dlqAction(c, false) })
	admin.POST("/dlq/:name/discard", func(c *gin.Context) { s.dlqAction(c, true) })
}

func (s *Server) listDLQs(c *gin.Context) {
	out := make([]dlqSummary, 0, len(DLQNames))
	for _, n := range DLQNames {
		k, _ := DLQKey(s.o.Keys, n)
		l, err := stream.Len(c, s.o.Redis, k)
		if err != nil {
			s.unavailable(c, "read the dead-letter streams: redis is unavailable", err)
			return
		}
		sum := dlqSummary{Name: n, Stream: k, Entries: l, Replayable: dlqReplayable(n)}
		if l > 0 {
			first, err := s.o.Redis.XRangeN(c, k, "-", "+", 1).Result()
			if err != nil {
				s.unavailable(c, "read the dead-letter streams: redis is unavailable", err)
				return
			}
			if len(first) == 1 {
				sum.OldestFailedAt = NewDLQEntry(first[0]).FailedAt
			}
		}
		out = append(out, sum)
	}
	c.JSON(http.StatusOK, gin.H{"dlqs": out, "temporal": s.opsStatus()})
}

// dlqName reads and checks the :name path parameter.
func (s *Server) dlqName(c *gin.Context) (string, string, bool) {
	name := c.Param("name")
	k, ok := DLQKey(s.o.Keys, name)
	if !ok {
		abort(c, http.StatusNotFound, errNotFound, "no dead-letter stream "+quoteShort(name)+" (want one of "+strings.Join(DLQNames, ", ")+")")
		return "", "", false
	}
	return name, k, true
}

// dlqReasonsQuery reads the repeated reason= filter.
func dlqReasonsQuery(c *gin.Context) ([]string, bool) {
	var out []string
	for _, r := range c.QueryArray("reason") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if len(r) > 200 || !utf8Printable(r) {
			abort(c, http.StatusBadRequest, errInvalidQuery, "reason: must be at most 200 printable characters")
			return nil, false
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) > dlqMaxReasons {
		abort(c, http.StatusBadRequest, errInvalidQuery, fmt.Sprintf("reason: at most %d values", dlqMaxReasons))
		return nil, false
	}
	return out, true
}

func utf8Printable(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// listDLQEntries pages through one stream, oldest first: count entries after
// the entry id `after`, only those whose reason is one of the reason filters.
func (s *Server) listDLQEntries(c *gin.Context) {
	name, key, ok := s.dlqName(c)
	if !ok {
		return
	}
	count := dlqDefaultCount
	if v, set := c.GetQuery("count"); set {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > dlqMaxCount {
			abort(c, http.StatusBadRequest, errInvalidQuery, fmt.Sprintf("count: must be an integer between 1 and %d", dlqMaxCount))
			return
		}
		count = n
	}
	start := "-"
	if v := c.Query("after"); v != "" {
		if !validDLQID.MatchString(v) {
			abort(c, http.StatusBadRequest, errInvalidQuery, "after: must be a stream entry id such as 1700000000000-0")
			return
		}
		start = "(" + v
	}
	reasons, ok := dlqReasonsQuery(c)
	if !ok {
		return
	}
	depth, err := stream.Len(c, s.o.Redis, key)
	if err != nil {
		s.unavailable(c, "read the dead-letter stream: redis is unavailable", err)
		return
	}
	entries := []DLQEntry{}
	next, scanned := "", 0
	for len(entries) < count && scanned < dlqMaxScan {
		msgs, err := s.o.Redis.XRangeN(c, key, start, "+", int64(max(count, 100))).Result()
		if err != nil {
			s.unavailable(c, "read the dead-letter stream: redis is unavailable", err)
			return
		}
		for _, m := range msgs {
			scanned++
			start, next = "("+m.ID, m.ID
			e := NewDLQEntry(m)
			if len(reasons) > 0 && !slices.Contains(reasons, e.Reason) {
				continue
			}
			entries = append(entries, e)
			if len(entries) == count {
				break
			}
		}
		if len(msgs) < max(count, 100) {
			// The end of the stream: nothing after the last entry read.
			if len(entries) < count {
				next = ""
			}
			break
		}
	}
	if next != "" {
		// Is there anything after the page? Only then offer a next page.
		more, err := s.o.Redis.XRangeN(c, key, "("+next, "+", 1).Result()
		if err != nil {
			s.unavailable(c, "read the dead-letter stream: redis is unavailable", err)
			return
		}
		if len(more) == 0 {
			next = ""
		}
	}
	c.JSON(http.StatusOK, gin.H{"name": name, "stream": key, "depth": depth, "replayable": dlqReplayable(name),
		"entries": entries, "next_after": next, "reasons": reasons, "temporal": s.opsStatus()})
}

// dlqActionBody is a replay or discard request: the selected entries (ids),
// or all entries matching the filter (all, with optional reasons).
type dlqActionBody struct {
	IDs     []string `json:"ids"`
	All     bool     `json:"all"`
	Reasons []string `json:"reasons"`
	DryRun  bool     `json:"dry_run"`
	reasonField
}

// dlqActionAnswer is the 202 of a replay or discard: the run carrying it out.
type dlqActionAnswer struct {
	Status     string `json:"status"` // "started"
	Action     string `json:"action"` // "replay" or "discard"
	DLQ        string `json:"dlq"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// TemporalURL is the run in the Temporal UI ("" without MUTT_TEMPORAL_UI_URL).
	TemporalURL string `json:"temporal_url,omitempty"`
}

func (b *dlqActionBody) check() error {
	switch {
	case len(b.IDs) == 0 && !b.All:
		return &fieldErr{"ids", `is required: the entries to act on, or "all": true for every entry matching reasons`}
	case len(b.IDs) > 0 && b.All:
		return &fieldErr{"all", "cannot be combined with ids: choose the selected entries or all matching"}
	case len(b.IDs) > workflows.DLQMaxIDs:
		return &fieldErr{"ids", fmt.Sprintf("at most %d entries per request", workflows.DLQMaxIDs)}
	case len(b.Reasons) > dlqMaxReasons:
		return &fieldErr{"reasons", fmt.Sprintf("at most %d values", dlqMaxReasons)}
	case len(b.IDs) > 0 && len(b.Reasons) > 0:
		return &fieldErr{"reasons", "filters all matching entries; it cannot be combined with ids"}
	}
	for i, id := range b.IDs {
		if !validDLQID.MatchString(id) {
			return &fieldErr{fmt.Sprintf("ids[%d]", i), "must be a stream entry id such as 1700000000000-0"}
		}
	}
	for i, r := range b.Reasons {
		if strings.TrimSpace(r) == "" || len(r) > 200 || !utf8Printable(r) {
			return &fieldErr{fmt.Sprintf("reasons[%d]", i), "must be 1 to 200 printable characters"}
		}
	}
	return nil
}

// dlqAction replays or discards entries of one stream by starting
// DLQRemediationWorkflow, audited in config_audit_log: the audit row (with
// the workflow id) is written in a transaction that commits only once the
// workflow has started, so a refused start leaves no row and a failed commit
// terminates the run.
func (s *Server) dlqAction(c *gin.Context, discard bool) {
	name, key, ok := s.dlqName(c)
	if !ok {
		return
	}
	var body dlqActionBody
	if !decodeResourceBody(c, &body) {
		return
	}
	if err := body.check(); err != nil {
		answerInvalid(c, err)
		return
	}
	action := "replay"
	if discard {
		action = "discard"
	}
	if !discard && !dlqReplayable(name) {
		abort(c, http.StatusBadRequest, errInvalidValue, "the "+name+" dead-letter stream is never replayed: its entries can only be discarded")
		return
	}
	ops := s.o.Ops
	if !ops.configured() {
		abort(c, http.StatusServiceUnavailable, errUnavailable, "Temporal is not configured on this API server (TEMPORAL_ADDRESS): "+
			"dead letters can be viewed here but replayed or discarded only by the remediation workflow")
		return
	}
	in := workflows.DLQInput{Streams: []string{name}, IDs: body.IDs, Reasons: body.Reasons, Discard: discard, DryRun: body.DryRun}
	depth, err := stream.Len(c, s.o.Redis, key)
	if err != nil {
		s.unavailable(c, "read the dead-letter stream: redis is unavailable", err)
		return
	}
	if body.All {
		// Every entry there now (entries added meanwhile wait for the next run).
		in.MaxEntries = int(min(max(depth, 1), dlqMaxAll))
	}
	reason := changeReason(c, body.Reason)
	id := fmt.Sprintf("%smutt-dlq-%s-%s-%s", ops.IDPrefix, action, name, s.o.Now().UTC().Format("20060102T150405.000"))
	id += "-" + correlation.New()[:8]
	ans := dlqActionAnswer{Status: "started", Action: action, DLQ: name, WorkflowID: id}
	var run client.WorkflowRun
	op := "UPDATE"
	if discard {
		op = "DELETE"
	}
	err = pgx.BeginFunc(c, s.o.DB, func(tx pgx.Tx) error {
		err := writeConfigAudit(c, tx, AuditEntry{ChangedBy: caller(c), Operation: op, TableName: DLQAuditTable, RecordID: key,
			Reason: reason, CorrelationID: correlationID(c),
			Old: map[string]any{"entries": depth},
			New: map[string]any{"action": action, "ids": body.IDs, "all": body.All, "reasons": body.Reasons,
				"dry_run": body.DryRun, "workflow_id": id}})
		if err != nil {
			return err
		}
		run, err = ops.Client.ExecuteWorkflow(c, client.StartWorkflowOptions{ID: id, TaskQueue: ops.TaskQueue,
			StaticSummary: fmt.Sprintf("console %s of %s DLQ entries: %s", action, name, clip(reason, 200))},
			"DLQRemediationWorkflow", in)
		if err != nil {
			return &temporalErr{err}
		}
		return nil
	})
	if err != nil {
		var te *temporalErr
		if errors.As(err, &te) {
			s.unavailable(c, "start the remediation workflow: Temporal is unavailable", te.err)
			return
		}
		if run != nil {
			// Started but not audited: stop it before it changes anything more.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c), 10*time.Second)
			_ = ops.Client.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "the audit row of this console action could not be written")
			cancel()
		}
		s.dbFailure(c, action+" dead letters", err)
		return
	}
	ans.RunID = run.GetRunID()
	ans.TemporalURL = ops.workflowURL(ans.WorkflowID, ans.RunID)
	s.o.Log.InfoContext(c, "dead letters "+action+" started", "component", "api", "dlq", name, "workflow_id", id,
		"run_id", ans.RunID, "correlation_id", correlationID(c), "caller", caller(c))
	c.JSON(http.StatusAccepted, ans)
}

// temporalErr marks a failed workflow start inside the audit transaction.
type temporalErr struct{ err error }

func (e *temporalErr) Error() string { return "start workflow: " + e.err.Error() }
func (e *temporalErr) Unwrap() error { return e.err }

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
