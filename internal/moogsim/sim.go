package moogsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mutt-ops/mutt/internal/apikey"
	"github.com/mutt-ops/mutt/internal/telemetry"
)

// MaxBody is the largest request body the simulator reads; larger bodies get 413.
const MaxBody = 32 << 20

// defaultRetryAfter is the Retry-After (seconds) sent with a simulated 429 or 503,
// like a real webhook asking its clients to back off.
const defaultRetryAfter = 1

// Options configure a Sim.
type Options struct {
	// APIKey, when set, is required as "Authorization: Bearer <key>"; anything
	// else gets 401.
	APIKey string
	// Keep is how many of the last events are kept for Events and /stats; 100.
	Keep int
	// MaxTracked bounds the distinct external_ids counted for Seen and Unique
	// (memory: tens of bytes each); 5,000,000. Past it, new ids are no longer
	// tracked and /stats says "tracking_full"; Count stays exact.
	MaxTracked int
	Log        *slog.Logger
	HTTP       telemetry.HTTPConfig // limits of Run's listener
}

// latencyBuckets: 1 ms buckets up to a minute, plus one for anything longer.
const latencyBuckets = 60_001

// Sim is an in-memory Moogsoft webhook. It is safe for concurrent use.
type Sim struct {
	apiKey     atomic.Pointer[apikey.Set[struct{}]] // "Bearer <key>"; nil: any request is accepted
	keep       int
	maxTracked int
	log        *slog.Logger
	http       telemetry.HTTPConfig

	mu       sync.Mutex
	count    int // events accepted with a 2xx
	requests int // POSTs to an event endpoint, whatever the answer
	probes   int // HEADs and GETs of an event endpoint (health probes)
	// external_id -> times accepted. MUTT's ids are UUIDs, kept as 16 bytes
	// (a benchmark sends millions); anything else is kept as a string.
	seenUUID  map[uuid.UUID]int32
	seenOther map[string]int
	full      bool     // maxTracked reached
	last      [][]byte // ring of the last keep events (raw JSON)
	next      int      // ring position of the next write
	// latency (custom_info.received_at → arrival here) in 1 ms buckets
	latency         []int64
	latencyCount    int64
	firstAt, lastAt time.Time

	failStatus int
	failLeft   int // requests still to fail; < 0 until Heal
	delay      time.Duration
	retryAfter int // seconds, sent with a simulated 429/503
	// recordLate: a request whose client leaves during the delay is still
	// recorded, as a webhook that processed it but answered too late.
	recordLate bool

	arrivals    []Arrival // ring of the last maxArrivals event requests
	nextArrival int       // ring position of the next write once full

	scratch sync.Pool // *scratch
}

// scratch is what handling one event request needs besides its body, kept
// for the next request.
type scratch struct {
	p    parsed
	keys []idKey
	lat  []int // latency bucket of each event that carries received_at
}

// maxPooledEvents bounds the scratch kept for later requests.
const maxPooledEvents = 4096

func (s *Sim) getScratch() *scratch {
	if sc, ok := s.scratch.Get().(*scratch); ok {
		return sc
	}
	return new(scratch)
}

func (s *Sim) putScratch(sc *scratch) {
	if cap(sc.p.events) > maxPooledEvents {
		return
	}
	sc.p.reset()
	clear(sc.keys)
	sc.keys, sc.lat = sc.keys[:0], sc.lat[:0]
	s.scratch.Put(sc)
}

// New returns a simulator with no faults.
func New(o Options) *Sim {
	if o.Keep <= 0 {
		o.Keep = 100
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = 5_000_000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{keep: o.Keep, maxTracked: o.MaxTracked, log: o.Log.With("component", "moogsim"), http: o.HTTP}
	s.SetAPIKey(o.APIKey)
	s.resetLocked()
	return s
}

// SetAPIKey changes the key the simulator requires from now on ("" accepts
// any request), as rotating the key on the Moogsoft side does.
func (s *Sim) SetAPIKey(key string) {
	if key == "" {
		s.apiKey.Store(nil)
		return
	}
	s.apiKey.Store(apikey.NewSet([]apikey.Key[struct{}]{{Value: "Bearer " + key}}))
}

// authorized reports whether r carries the key in force.
func (s *Sim) authorized(r *http.Request) bool {
	k := s.apiKey.Load()
	if k == nil {
		return true
	}
	_, ok := k.Match(r.Header.Get("Authorization"))
	return ok
}

// Run serves the simulator on addr until ctx ends.
func (s *Sim) Run(ctx context.Context, addr string) error {
	return telemetry.Serve(ctx, s.log, addr, s.Handler(), s.http)
}

// Handler routes the webhook, stats, health and control endpoints.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/{$}", "/events", "/api/v1/events"} {
		mux.HandleFunc("POST "+p, s.handleEvents)
	}
	// A probe of the webhook (GET patterns match HEAD too), as DLQ remediation
	// sends before replaying: answered like a real endpoint in the same state.
	for _, p := range []string{"/events", "/api/v1/events"} {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			if s.probeFault(w, r) {
				return
			}
			if !s.authorized(r) {
				writeError(w, http.StatusUnauthorized, "missing or wrong Authorization bearer token")
				return
			}
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "the webhook takes POST")
		})
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if s.probeFault(w, r) {
			return
		}
		telemetry.WriteJSON(w, http.StatusOK, map[string]any{
			"service": "moog-sim",
			"endpoints": map[string]string{
				"events":  "POST / | /events | /api/v1/events (one event or {\"events\":[...]})",
				"probe":   "HEAD or GET of an events path: the injected fault while failing, else 405 (401 without the API key; GET / is this page)",
				"stats":   "GET /stats",
				"health":  "GET /health",
				"control": `POST /control {"fail_status":500,"fail_count":10,"delay_ms":0,"retry_after":1,"record_late":false} or {"heal":true}`,
				"reset":   "POST /reset",
			},
		})
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		telemetry.WriteJSON(w, http.StatusOK, map[string]string{"status": "healthy", "service": "moog-sim"})
	})
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.HandleFunc("POST /control", s.handleControl)
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		telemetry.WriteJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	})
	return mux
}

func (s *Sim) handleEvents(w http.ResponseWriter, r *http.Request) {
	arrival := Arrival{At: time.Now()}
	defer func() { s.noteArrival(arrival) }()
	s.mu.Lock()
	s.requests++
	delay, ra, late := s.delay, s.retryAfter, s.recordLate
	status := 0
	if s.failLeft != 0 {
		status = s.failStatus
		if s.failLeft > 0 {
			s.failLeft--
		}
	}
	s.mu.Unlock()

	// Read the whole body first: it keeps the client's connection reusable on
	// every answer, and the server notices a client that leaves during the
	// delay only once the body is consumed.
	body, readErr := readBody(http.MaxBytesReader(w, r.Body, MaxBody), r.ContentLength)
	sc := s.getScratch()
	defer s.putScratch(sc)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			// The client gave up (its timeout): nothing was acknowledged, so
			// nothing is recorded, unless told to play a webhook that
			// processed the request and answered too late.
			t.Stop()
			if late && status == 0 && readErr == nil && s.authorized(r) {
				if err := sc.p.parse(body); err == nil {
					s.record(sc, body, time.Now())
				}
			}
			return
		}
	}
	arrival.Status = http.StatusOK // changed below by every other answer
	defer func() { arrival.Answered = time.Now() }()
	if status != 0 {
		arrival.Status = status
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(ra))
			arrival.RetryAfter = time.Duration(ra) * time.Second
		}
		s.log.Debug("simulated failure", "status", status)
		writeError(w, status, "simulated failure")
		return
	}
	if !s.authorized(r) {
		arrival.Status = http.StatusUnauthorized
		writeError(w, http.StatusUnauthorized, "missing or wrong Authorization bearer token")
		return
	}
	if readErr != nil {
		var tooBig *http.MaxBytesError
		if errors.As(readErr, &tooBig) {
			arrival.Status = http.StatusRequestEntityTooLarge
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than "+strconv.Itoa(MaxBody)+" bytes")
			return
		}
		arrival.Status = http.StatusBadRequest
		writeError(w, http.StatusBadRequest, "read body: "+readErr.Error())
		return
	}
	if err := sc.p.parse(body); err != nil {
		s.log.Debug("rejected body", "err", err)
		arrival.Status = http.StatusBadRequest
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.record(sc, body, time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := append(make([]byte, 0, 48), `{"success":true,"received":`...)
	out = strconv.AppendInt(out, int64(len(sc.p.events)), 10)
	_, _ = w.Write(append(out, "}\n"...))
}

// readBody reads r to its end as io.ReadAll does, but into one buffer of the
// length the client announced (n, from Content-Length; < 0: unknown) rather
// than growing one from 512 bytes.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if n <= 0 || n > MaxBody {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, n+1) // +1: room to read the end without growing
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) { // longer than announced
			b = append(b, 0)[:len(b)]
		}
	}
}

// probeFault answers a probe (HEAD or GET of an event path) the way a real
// webhook in the simulated state would: after the injected delay, with the
// injected fault status while one is set. It reports whether it answered. A
// probe does not use up a counted fault (fail_count counts event requests)
// and is counted in Probes, not in Requests.
func (s *Sim) probeFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.probes++
	delay, ra := s.delay, s.retryAfter
	status := 0
	if s.failLeft != 0 {
		status = s.failStatus
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if status == 0 {
		return false
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	writeError(w, status, "simulated failure")
	return true
}

func writeError(w http.ResponseWriter, status int, msg string) {
	telemetry.WriteJSON(w, status, map[string]any{"success": false, "status": "error", "code": status, "message": msg})
}

// idKey is an external_id as tracked: 16 bytes for a canonical UUID.
type idKey struct {
	u      uuid.UUID
	s      string
	isUUID bool
}

func keyOf(id string) idKey {
	if u, ok := parseUUID(id); ok {
		return idKey{u: u, isUUID: true}
	}
	return idKey{s: id}
}

// rawKeyOf is keyOf of the raw value of an external_id; false when the event
// has none.
func rawKeyOf(raw []byte) (idKey, bool) {
	if len(raw) == 38 && raw[0] == '"' { // raw is a valid string token
		if u, ok := parseUUID(raw[1:37]); ok {
			return idKey{u: u, isUUID: true}, true
		}
	}
	id := externalID(raw)
	return keyOf(id), id != ""
}

// uuidHex are the offsets of the 16 hex pairs of a canonical UUID.
var uuidHex = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseUUID parses the canonical lower-case form of a UUID only
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), so that two different strings never
// share a count.
func parseUUID[T string | []byte](s T) (u uuid.UUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	for j, i := range uuidHex {
		hi, lo := lowerHex(s[i]), lowerHex(s[i+1])
		if hi|lo > 0xf {
			return u, false
		}
		u[j] = hi<<4 | lo
	}
	return u, true
}

// lowerHex is the value of a lower-case hex digit, or 0xff.
func lowerHex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 0xff
}

// receivedAt parses custom_info.received_at (a valid JSON string token) as
// time.RFC3339Nano, without allocating for the UTC form MUTT writes.
func receivedAt(raw []byte) (time.Time, bool) {
	if t, ok := parseUTC(raw[1 : len(raw)-1]); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, unquote(raw))
	return t, err == nil
}

// parseUTC parses YYYY-MM-DDTHH:MM:SS[.1 to 9 digits]Z as time.Parse with
// time.RFC3339Nano does; false for anything else, valid or not.
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	year, month, day := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	hour, minute, sec := digits(s[11:13]), digits(s[14:16]), digits(s[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		if nsec = digits(frac[1:]); nsec < 0 {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// digits is the value of a run of decimal digits, or -1.
func digits(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
}

// record counts the events of sc.p, parsed from body (which it may keep).
func (s *Sim) record(sc *scratch, body []byte, now time.Time) {
	// Work out everything before taking the lock.
	p := &sc.p
	kept := keepable(p.events[max(0, len(p.events)-s.keep):], len(body))
	for _, raw := range p.ids {
		if k, ok := rawKeyOf(raw); ok {
			sc.keys = append(sc.keys, k)
		}
	}
	for _, raw := range p.received {
		if raw == nil {
			continue
		}
		if t, ok := receivedAt(raw); ok {
			sc.lat = append(sc.lat, int(min(max(now.Sub(t).Milliseconds(), 0), latencyBuckets-1)))
		}
	}
	keys, lat := sc.keys, sc.lat

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		s.firstAt = now
	}
	s.lastAt = now
	s.count += len(p.events)
	for _, k := range keys {
		s.track(k)
	}
	for _, b := range lat {
		s.latency[b]++
	}
	s.latencyCount += int64(len(lat))
	for _, ev := range kept {
		s.last[s.next] = ev
		s.next = (s.next + 1) % s.keep
	}
}

// keepable makes the events to keep (the last of a body of bodyLen bytes)
// fit for the ring: they stay slices of the body, which is never reused, when
// they are most of it; otherwise they are copied, in one block, so the ring
// never holds on to much more than it shows.
func keepable(kept [][]byte, bodyLen int) [][]byte {
	n := 0
	for _, ev := range kept {
		n += len(ev)
	}
	if 2*n >= bodyLen {
		return kept
	}
	block := make([]byte, 0, n)
	for i, ev := range kept {
		block = append(block, ev...)
		kept[i] = block[len(block)-len(ev) : len(block) : len(block)]
	}
	return kept
}

func (s *Sim) track(k idKey) {
	if len(s.seenUUID)+len(s.seenOther) < s.maxTracked {
		// Room for one more: one map operation, new id or not.
		if k.isUUID {
			s.seenUUID[k.u]++
		} else {
			s.seenOther[k.s]++
		}
		return
	}
	if k.isUUID {
		if n, ok := s.seenUUID[k.u]; ok {
			s.seenUUID[k.u] = n + 1
			return
		}
	} else if n, ok := s.seenOther[k.s]; ok {
		s.seenOther[k.s] = n + 1
		return
	}
	if !s.full {
		s.full = true
		s.log.Warn("distinct external_ids past MaxTracked are no longer tracked; Seen and Unique undercount",
			"max_tracked", s.maxTracked)
	}
}

// quantileLocked is the q-quantile of the latency histogram in milliseconds
// (the middle of its 1 ms bucket).
func (s *Sim) quantileLocked(q float64) float64 {
	if s.latencyCount == 0 {
		return 0
	}
	rank := int64(q*float64(s.latencyCount-1)) + 1
	var cum int64
	for i, n := range s.latency {
		cum += n
		if cum >= rank {
			return float64(i) + 0.5
		}
	}
	return float64(latencyBuckets)
}

type stats struct {
	Count         int               `json:"count"`
	Requests      int               `json:"requests"`
	Probes        int               `json:"probes"`
	Unique        int               `json:"unique"`
	TrackingFull  bool              `json:"tracking_full,omitempty"`
	Failing       bool              `json:"failing"`
	FailStatus    int               `json:"fail_status,omitempty"`
	FailRemaining int               `json:"fail_remaining,omitempty"` // -1: until healed
	DelayMS       int64             `json:"delay_ms"`
	FirstAt       *time.Time        `json:"first_at,omitempty"` // first and last accepted event
	LastAt        *time.Time        `json:"last_at,omitempty"`
	Latency       latencyStats      `json:"latency"`
	Last          []json.RawMessage `json:"last"`
}

// latencyStats: custom_info.received_at (ingest) → arrival here, over every
// accepted event that carries it.
type latencyStats struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
}

func (s *Sim) snapshot() stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := stats{Count: s.count, Requests: s.requests, Probes: s.probes, Unique: len(s.seenUUID) + len(s.seenOther),
		TrackingFull: s.full, Failing: s.failLeft != 0, DelayMS: s.delay.Milliseconds(),
		Latency: latencyStats{Count: s.latencyCount, P50: s.quantileLocked(.5), P95: s.quantileLocked(.95),
			P99: s.quantileLocked(.99)},
		Last: make([]json.RawMessage, 0, s.keep)}
	if s.count > 0 {
		first, last := s.firstAt, s.lastAt
		st.FirstAt, st.LastAt = &first, &last
	}
	if st.Failing {
		st.FailStatus, st.FailRemaining = s.failStatus, s.failLeft
	}
	for _, ev := range s.lastLocked() {
		st.Last = append(st.Last, ev)
	}
	return st
}

// lastLocked lists the kept events, oldest first.
func (s *Sim) lastLocked() [][]byte {
	out := make([][]byte, 0, s.keep)
	for i := range s.keep {
		if ev := s.last[(s.next+i)%s.keep]; ev != nil {
			out = append(out, ev)
		}
	}
	return out
}

func (s *Sim) handleStats(w http.ResponseWriter, _ *http.Request) {
	telemetry.WriteJSON(w, http.StatusOK, s.snapshot())
}

// control is the body of POST /control.
type control struct {
	FailStatus *int   `json:"fail_status"`
	FailCount  *int   `json:"fail_count"` // omitted or < 0: until healed
	DelayMS    *int64 `json:"delay_ms"`
	RetryAfter *int   `json:"retry_after"` // seconds, with a simulated 429/503
	RecordLate *bool  `json:"record_late"` // record requests whose client left during the delay
	Heal       bool   `json:"heal"`
}

func (s *Sim) handleControl(w http.ResponseWriter, r *http.Request) {
	var c control
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, "control body: "+err.Error())
		return
	}
	if c.FailStatus != nil && (*c.FailStatus < 200 || *c.FailStatus > 599) {
		writeError(w, http.StatusBadRequest, "fail_status must be an HTTP status between 200 and 599")
		return
	}
	if c.DelayMS != nil && *c.DelayMS < 0 {
		writeError(w, http.StatusBadRequest, "delay_ms must not be negative")
		return
	}
	if c.RetryAfter != nil && *c.RetryAfter < 0 {
		writeError(w, http.StatusBadRequest, "retry_after must not be negative")
		return
	}
	if c.Heal {
		s.Heal()
	}
	if c.FailStatus != nil {
		n := -1
		if c.FailCount != nil && *c.FailCount >= 0 {
			n = *c.FailCount
		}
		s.Fail(*c.FailStatus, n)
	}
	if c.DelayMS != nil {
		s.Delay(time.Duration(*c.DelayMS) * time.Millisecond)
	}
	if c.RetryAfter != nil {
		s.RetryAfter(*c.RetryAfter)
	}
	if c.RecordLate != nil {
		s.RecordLate(*c.RecordLate)
	}
	s.log.Info("fault injection changed", "fail_status", c.FailStatus, "fail_count", c.FailCount,
		"delay_ms", c.DelayMS, "heal", c.Heal)
	st := s.snapshot()
	st.Last = nil
	telemetry.WriteJSON(w, http.StatusOK, st)
}

// Count is the number of events accepted with a 2xx.
func (s *Sim) Count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.count }

// Requests is the number of POSTs to an event endpoint, whatever the answer.
func (s *Sim) Requests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

// Probes is the number of HEADs and GETs of an event endpoint (health probes
// such as DLQ remediation's), whatever the answer.
func (s *Sim) Probes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.probes }

// Seen is how often an event with this external_id was accepted.
func (s *Sim) Seen(externalID string) int {
	k := keyOf(externalID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.isUUID {
		return int(s.seenUUID[k.u])
	}
	return s.seenOther[k.s]
}

// Unique is the number of distinct external_ids accepted.
func (s *Sim) Unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seenUUID) + len(s.seenOther)
}

// Events returns the last Keep accepted events, oldest first.
func (s *Sim) Events() []map[string]any {
	s.mu.Lock()
	raw := s.lastLocked()
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(raw))
	for _, ev := range raw {
		var m map[string]any
		if json.Unmarshal(ev, &m) == nil { // stored events were validated on arrival
			out = append(out, m)
		}
	}
	return out
}

// Fail makes the next n event requests answer status (n < 0: until Heal;
// n == 0 clears the fault). It replaces any earlier Fail. While it lasts,
// probes (HEAD or GET of an event path) answer status too, without using up n.
func (s *Sim) Fail(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failLeft = status, n
}

// Delay makes every event request and probe wait d before it is answered (0:
// no delay), to provoke client timeouts. A request whose client leaves during
// the delay is not recorded.
func (s *Sim) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = max(d, 0)
}

// RetryAfter sets the Retry-After seconds sent with a simulated 429 or 503 (default 1).
func (s *Sim) RetryAfter(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = max(seconds, 0)
}

// RecordLate makes a request whose client leaves during the Delay count as
// accepted all the same, as a webhook that processed it but answered after
// the client's timeout: the client's retry is then a duplicate. Off by
// default (and after Heal): such a request is not recorded.
func (s *Sim) RecordLate(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLate = on
}

// Heal removes every injected fault and delay.
func (s *Sim) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failLeft, s.delay, s.recordLate = 0, 0, 0, false
}

// Reset returns the simulator to its initial state: no recorded events or
// requests and no faults.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Sim) resetLocked() {
	s.count, s.requests, s.probes = 0, 0, 0
	s.seenUUID, s.seenOther, s.full = make(map[uuid.UUID]int32), make(map[string]int), false
	s.latency, s.latencyCount = make([]int64, latencyBuckets), 0
	s.firstAt, s.lastAt = time.Time{}, time.Time{}
	s.last = make([][]byte, s.keep)
	s.next = 0
	s.failStatus, s.failLeft, s.delay, s.recordLate = 0, 0, 0, false
	s.retryAfter = defaultRetryAfter
	s.arrivals, s.nextArrival = nil, 0
}
