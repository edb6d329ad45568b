package moogsim

import (
	"net/http"
	"slices"
	"sort"
	"time"
)

// maxArrivals bounds the arrivals kept for Arrivals and EarlyRequests (about
// 50 bytes each); older ones are dropped first.
const maxArrivals = 1 << 17

// Arrival is one event request as the simulator saw it.
type Arrival struct {
	At       time.Time // when the request arrived
	Answered time.Time // when it was answered (zero: the client left first)
	Status   int       // the answer's status (0: the client left first)
	// RetryAfter is the Retry-After the answer carried (simulated 429/503).
	RetryAfter time.Duration
}

// noteArrival keeps a in the arrivals ring.
func (s *Sim) noteArrival(a Arrival) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.arrivals) < maxArrivals {
		s.arrivals = append(s.arrivals, a)
		return
	}
	s.arrivals[s.nextArrival] = a
	s.nextArrival = (s.nextArrival + 1) % maxArrivals
}

// Arrivals returns the last event requests (up to 131,072), in order of arrival.
func (s *Sim) Arrivals() []Arrival {
	s.mu.Lock()
	out := append(slices.Clone(s.arrivals[s.nextArrival:]), s.arrivals[:s.nextArrival]...)
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// RetryAfterReport says whether clients honoured the Retry-After of the
// simulated 429 and 503 answers.
type RetryAfterReport struct {
	Asked int // answers that carried a Retry-After > 0
	// Early lists the requests that arrived after a Retry-After answer
	// plus the grace and before its Retry-After had elapsed.
	Early []Arrival
}

// EarlyRequests checks the kept arrivals against every Retry-After the
// simulator sent: a request arriving between grace after such an answer and
// the end of its Retry-After was sent too early. The grace covers requests
// the clients had sent before the answer reached them (under load, their
// flight time).
func (s *Sim) EarlyRequests(grace time.Duration) RetryAfterReport {
	all := s.Arrivals()
	type span struct{ from, to time.Time }
	var spans []span
	asked := 0
	for _, a := range all {
		if a.RetryAfter <= 0 || a.Answered.IsZero() ||
			(a.Status != http.StatusTooManyRequests && a.Status != http.StatusServiceUnavailable) {
			continue
		}
		asked++
		if from, to := a.Answered.Add(grace), a.Answered.Add(a.RetryAfter); from.Before(to) {
			spans = append(spans, span{from, to})
		}
	}
	r := RetryAfterReport{Asked: asked}
	if len(spans) == 0 {
		return r
	}
	// Merge the forbidden spans, then look each arrival up.
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if !sp.from.After(last.to) {
			if sp.to.After(last.to) {
				last.to = sp.to
			}
			continue
		}
		merged = append(merged, sp)
	}
	for _, a := range all {
		i := sort.Search(len(merged), func(i int) bool { return merged[i].to.After(a.At) })
		if i < len(merged) && !a.At.Before(merged[i].from) {
			r.Early = append(r.Early, a)
		}
	}
	return r
}
