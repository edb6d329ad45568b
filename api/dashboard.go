package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/event"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/stream"
	"github.com/mutt-ops/mutt/internal/tally"
)

// Group names of the stream stages (hotpath/alert and hotpath/forward).
const (
	alerterGroup   = "alerter"
	forwarderGroup = "forwarder"
	// maxDashboardWindow bounds window_minutes: the tally keeps 25 h.
	maxDashboardWindow = 24 * 60
)

// dashboardRoles are the roles the dashboard always lists, with 0 instances
// when none advertises itself.
var dashboardRoles = []string{"ingestor", "alerter", "forwarder", "api", "worker"}

// RoleHealth is one role: the live processes that run it (each advertises
// itself in Redis every few seconds with a 15 s TTL).
type RoleHealth struct {
	Role      string   `json:"role"`
	Instances int      `json:"instances"`
	Healthy   bool     `json:"healthy"` // at least one live instance
	IDs       []string `json:"instance_ids"`
}

// ShardLag is one stream shard and the consumer group reading it.
type ShardLag struct {
	Stream    string `json:"stream"`
	Stage     string `json:"stage"` // ingest or alerts
	Shard     int    `json:"shard"`
	Group     string `json:"group"`
	Length    int64  `json:"length"`    // the backlog from the stream's counter: events of an ingest shard (ADR 0048), alerts of an alert shard (ADR 0049)
	Lag       *int64 `json:"lag"`       // entries (not events) not yet delivered to the group; null when Redis cannot tell
	Pending   int64  `json:"pending"`   // entries delivered, not yet acknowledged
	Consumers int64  `json:"consumers"` // consumers known to the group
}

// Funnel follows the events of the window through the pipeline.
type Funnel struct {
	Accepted     int64 `json:"accepted"`
	Matched      int64 `json:"matched"`
	Audited      int64 `json:"audited"`
	Alerts       int64 `json:"alerts"`    // alerts queued for Moogsoft (rule alerts and meta-alerts)
	Forwarded    int64 `json:"forwarded"` // alerts Moogsoft acknowledged
	Ignored      int64 `json:"ignored"`
	Unhandled    int64 `json:"unhandled"`
	DeadLettered int64 `json:"dead_lettered"` // by the alerter and the forwarder
}

// MoogStats are the Moogsoft requests of the window.
type MoogStats struct {
	Requests     int64    `json:"requests"`
	OK           int64    `json:"ok"`
	Failed       int64    `json:"failed"`
	SuccessRate  *float64 `json:"success_rate"`   // OK/requests, 0-1; null without requests
	AvgLatencyMS *float64 `json:"avg_latency_ms"` // null without requests
}

// BreakerEvent is one transition of the shared Moogsoft breaker.
type BreakerEvent struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// BreakerView is the breaker now and its recent transitions, newest first.
type BreakerView struct {
	State    string         `json:"state"`
	Failures int64          `json:"failures"`
	Trips    int64          `json:"trips"` // in the window
	History  []BreakerEvent `json:"history"`
}

// MinuteCounts is one minute of the window.
type MinuteCounts struct {
	Minute    time.Time `json:"minute"`
	Accepted  int64     `json:"accepted"`
	Forwarded int64     `json:"forwarded"`
	Refused   int64     `json:"refused"`
}

// Dashboard is GET /api/v*/dashboard: the live view of the whole deployment,
// read from Redis (the roles' advertisements, streams and per-minute tally,
// ADR 0030), so any API process shows every role.
type Dashboard struct {
	GeneratedAt   time.Time        `json:"generated_at"`
	TimeZone      string           `json:"time_zone"` // of every time and minute label: UTC
	WindowMinutes int              `json:"window_minutes"`
	Roles         []RoleHealth     `json:"roles"`
	Shards        []ShardLag       `json:"shards"`
	DLQ           []StreamDepth    `json:"dlq"`
	Funnel        Funnel           `json:"funnel"`
	BySource      map[string]int64 `json:"accepted_by_source"`
	Refusals      map[string]int64 `json:"refusals"` // rate_limit (429) and backlog (503), in events
	Moogsoft      MoogStats        `json:"moogsoft"`
	Breaker       BreakerView      `json:"circuit_breaker"`
	Minutes       []MinuteCounts   `json:"minutes"` // the window's minutes, oldest first
}

func (s *Server) registerDashboard(g *gin.RouterGroup, _ string) {
	g.GET("/dashboard", s.dashboard)
}

// parseWindowMinutes reads window_minutes (default 60).
func parseWindowMinutes(v string) (int, error) {
	if v == "" {
		return 60, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxDashboardWindow {
		return 0, fmt.Errorf("window_minutes: must be an integer from 1 to %d", maxDashboardWindow)
	}
	return n, nil
}

func (s *Server) dashboard(c *gin.Context) {
	window, err := parseWindowMinutes(c.Query("window_minutes"))
	if err != nil {
		abort(c, http.StatusBadRequest, errInvalidQuery, err.Error())
		return
	}
	now := s.o.Now().UTC()
	out := Dashboard{GeneratedAt: now, TimeZone: "UTC", WindowMinutes: window}
	if out.Roles, err = s.roleHealth(c); err == nil {
		out.Shards, out.DLQ, out.Breaker, err = s.streamState(c)
	}
	var minutes []tally.Minute
	if err == nil {
		// The current minute is still filling: the window is the whole
		// minutes before it plus the current one.
		minutes, err = tally.Read(c, s.o.Redis, s.o.Keys, now, window-1)
	}
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	sum := tally.Sum(minutes)
	out.BySource = map[string]int64{}
	for _, src := range []string{event.SourceHTTP, event.SourceSyslogUDP, event.SourceSyslogTCP, event.SourceSyslogTLS, event.SourceSNMP} {
		out.BySource[src] = 0
	}
	for f, n := range sum {
		if src, ok := strings.CutPrefix(f, tally.AcceptedPrefix); ok {
			out.BySource[src] += n
			out.Funnel.Accepted += n
		}
	}
	out.Funnel.Matched, out.Funnel.Audited, out.Funnel.Alerts = sum[tally.Matched], sum[tally.Audited], sum[tally.Alerts]
	out.Funnel.Forwarded, out.Funnel.Ignored, out.Funnel.Unhandled = sum[tally.Delivered], sum[tally.Ignored], sum[tally.Unhandled]
	out.Funnel.DeadLettered = sum[tally.AlerterDead] + sum[tally.MoogDead]
	out.Refusals = map[string]int64{"rate_limit": sum[tally.RefusedRateLimit], "backlog": sum[tally.RefusedBacklog]}
	m := MoogStats{OK: sum[tally.MoogOK], Failed: sum[tally.MoogFailed]}
	m.Requests = m.OK + m.Failed
	if m.Requests > 0 {
		rate := float64(m.OK) / float64(m.Requests)
		lat := float64(sum[tally.MoogLatencyMS]) / float64(m.Requests)
		m.SuccessRate, m.AvgLatencyMS = &rate, &lat
	}
	out.Moogsoft = m
	out.Breaker.Trips = sum[tally.BreakerTrips]
	out.Minutes = make([]MinuteCounts, len(minutes))
	for i, mn := range minutes {
		out.Minutes[i] = MinuteCounts{Minute: mn.Start, Forwarded: mn.Counts[tally.Delivered],
			Refused: mn.Counts[tally.RefusedRateLimit] + mn.Counts[tally.RefusedBacklog]}
		for f, n := range mn.Counts {
			if strings.HasPrefix(f, tally.AcceptedPrefix) {
				out.Minutes[i].Accepted += n
			}
		}
	}
	c.JSON(http.StatusOK, out)
}

// roleHealth lists the live instances by role from their advertisements.
func (s *Server) roleHealth(ctx context.Context) ([]RoleHealth, error) {
	var keys []string
	iter := s.o.Redis.Scan(ctx, 0, s.o.Keys.InstancesPattern(), 200).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	byRole := map[string]*RoleHealth{}
	out := make([]RoleHealth, 0, len(dashboardRoles))
	for _, r := range dashboardRoles {
		out = append(out, RoleHealth{Role: r, IDs: []string{}})
	}
	for i := range out {
		byRole[out[i].Role] = &out[i]
	}
	if len(keys) > 0 {
		vals, err := s.o.Redis.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("read instances: %w", err)
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue // expired between SCAN and MGET
			}
			var in secrets.Instance
			if err := json.Unmarshal([]byte(str), &in); err != nil {
				continue
			}
			// A process running several roles advertises them joined by "+"
			// (pipeline.roleNames); "," is accepted too.
			for _, r := range strings.FieldsFunc(in.Role, func(c rune) bool { return c == '+' || c == ',' }) {
				r = strings.TrimSpace(r)
				if r == "" || r == "moog-sim" {
					continue
				}
				rh := byRole[r]
				if rh == nil {
					out = append(out, RoleHealth{Role: r, IDs: []string{}})
					// out may have moved: rebuild the index.
					for i := range out {
						byRole[out[i].Role] = &out[i]
					}
					rh = byRole[r]
				}
				rh.Instances++
				rh.IDs = append(rh.IDs, in.ID)
			}
		}
	}
	for i := range out {
		out[i].Healthy = out[i].Instances > 0
		slices.Sort(out[i].IDs)
	}
	return out, nil
}

// streamState reads every shard's length and consumer group, the DLQs and
// the breaker with its history, in one round trip.
func (s *Server) streamState(ctx context.Context) ([]ShardLag, []StreamDepth, BreakerView, error) {
	type shardCmd struct {
		lag    ShardLag
		length func() int64 // read once the pipeline ran
		groups *redis.XInfoGroupsCmd
	}
	var shards []*shardCmd
	dlqs := []string{s.o.Keys.AlerterDLQ(), s.o.Keys.MoogDLQ(), s.o.Keys.SyslogDLQ(), s.o.Keys.SNMPDLQ(), s.poisonDLQ()}
	dlqLens := make([]*redis.IntCmd, len(dlqs))
	var breaker *redis.MapStringStringCmd
	var history *redis.XMessageSliceCmd
	cmds, err := s.o.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range []struct {
			stage, group string
			keys         []string
		}{{"ingest", alerterGroup, s.o.Keys.IngestStreams()}, {"alerts", forwarderGroup, s.o.Keys.AlertStreams()}} {
			for i, k := range st.keys {
				sc := &shardCmd{lag: ShardLag{Stream: k, Stage: st.stage, Shard: i, Group: st.group}}
				// An ingest or alert entry may hold several events or
				// alerts: the backlog in messages is the stream's counter's
				// (ADR 0048, ADR 0049).
				sc.length = stream.QueueDepth(ctx, p, k)
				sc.groups = p.XInfoGroups(ctx, k)
				shards = append(shards, sc)
			}
		}
		for i, k := range dlqs {
			dlqLens[i] = p.XLen(ctx, k)
		}
		breaker = p.HGetAll(ctx, s.o.Keys.CircuitBreaker())
		history = p.XRevRangeN(ctx, s.o.Keys.BreakerHistory(), "+", "-", 20)
		return nil
	})
	// XINFO GROUPS of a stream nobody wrote yet fails with "no such key":
	// that shard is empty, not an outage. Any other failure is one.
	if err != nil {
		for _, c := range cmds {
			if e := c.Err(); e != nil && e != redis.Nil && !isNoSuchKey(e) {
				return nil, nil, BreakerView{}, fmt.Errorf("read streams: %w", e)
			}
		}
	}
	lags := make([]ShardLag, len(shards))
	for i, sc := range shards {
		l := sc.lag
		l.Length = sc.length()
		if l.Length == 0 {
			zero := int64(0)
			l.Lag = &zero
		}
		for _, g := range sc.groups.Val() {
			if g.Name != l.Group {
				continue
			}
			l.Pending, l.Consumers = g.Pending, g.Consumers
			// Redis reports lag -1 (go-redis: -1) when it cannot compute it
			// (after deletions in the middle of the stream).
			if g.Lag >= 0 {
				lag := g.Lag
				l.Lag = &lag
			}
		}
		lags[i] = l
	}
	depths := make([]StreamDepth, len(dlqs))
	for i, k := range dlqs {
		depths[i] = StreamDepth{Stream: k, Length: dlqLens[i].Val()}
	}
	b := BreakerView{History: []BreakerEvent{}}
	h := breaker.Val()
	b.State = h["state"]
	if b.State == "" {
		b.State = "closed"
	}
	if n, err := strconv.ParseInt(h["failures"], 10, 64); err == nil && n > 0 {
		b.Failures = n
	}
	for _, m := range history.Val() {
		st, _ := m.Values["state"].(string)
		at, _ := m.Values["at"].(string)
		t, err := time.Parse(time.RFC3339Nano, at)
		if st == "" || err != nil {
			continue
		}
		b.History = append(b.History, BreakerEvent{State: st, At: t.UTC()})
	}
	return lags, depths, b, nil
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such key")
}
