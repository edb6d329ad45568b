package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Expect is what the rules will do with an event, known from its content.
type Expect uint8

const (
	// Handled events match a rule that pages and tickets: audited once and
	// delivered to Moogsoft.
	Handled Expect = iota
	// Unhandled events match no rule: counted, neither audited nor delivered.
	Unhandled
)

// Accepted is an event the ingestor answered 2xx for.
type Accepted struct {
	ID     string
	At     time.Time // when the 2xx arrived
	Expect Expect
}

// LoadOptions configure Load.
type LoadOptions struct {
	Ingest  []string // base URLs of the ingestor replicas; requests go round robin
	APIKey  string
	Bodies  [][]byte // JSON arrays of events (bench.Bodies)
	Rate    int      // events/s offered (approximately: whole bodies are sent)
	Senders int      // concurrent clients
	// Unhandled reports whether an event (its JSON) matches no rule.
	Unhandled func(event json.RawMessage) bool
}

// Load offers events to the ingestors and records every accepted event_id.
type Load struct {
	o       LoadOptions
	expects [][]Expect // per body, per event
	cancel  context.CancelFunc
	done    sync.WaitGroup

	mu       sync.Mutex
	seq      int // requests sent: picks the body and the ingestor
	accepted []Accepted
	status   map[int]int // answers other than 200, by status
	errs     int         // transport errors (connection refused or reset: a killed ingestor)
	lastErr  string
}

// StartLoad starts offering load until Stop.
func StartLoad(o LoadOptions) (*Load, error) {
	if len(o.Ingest) == 0 || len(o.Bodies) == 0 || o.Rate <= 0 || o.Senders <= 0 {
		return nil, fmt.Errorf("load: ingest URLs, bodies, rate and senders are required")
	}
	l := &Load{o: o, status: map[int]int{}}
	for i, b := range o.Bodies {
		var evs []json.RawMessage
		if err := json.Unmarshal(b, &evs); err != nil {
			return nil, fmt.Errorf("load: body %d is not a JSON array: %w", i, err)
		}
		ex := make([]Expect, len(evs))
		for j, ev := range evs {
			if o.Unhandled != nil && o.Unhandled(ev) {
				ex[j] = Unhandled
			}
		}
		l.expects = append(l.expects, ex)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	per := len(l.expects[0])
	interval := time.Duration(float64(time.Second) * float64(per) / float64(o.Rate))
	tickets := make(chan struct{}, o.Senders)
	client := &http.Client{Timeout: 15 * time.Second}
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		defer close(tickets)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case tickets <- struct{}{}:
				default: // every sender is busy: the offered rate drops, nothing queues up
				}
			}
		}
	}()
	for s := 0; s < o.Senders; s++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for range tickets {
				l.send(ctx, client)
			}
		}()
	}
	return l, nil
}

func (l *Load) send(ctx context.Context, client *http.Client) {
	l.mu.Lock()
	n := l.seq
	l.seq++
	l.mu.Unlock()
	bi := n % len(l.o.Bodies)
	url := l.o.Ingest[n%len(l.o.Ingest)] + "/ingest"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(l.o.Bodies[bi]))
	if err != nil {
		return
	}
	req.Header.Set("X-API-KEY", l.o.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.mu.Lock()
			l.errs++
			l.lastErr = err.Error()
			l.mu.Unlock()
		}
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		l.mu.Lock()
		l.status[resp.StatusCode]++
		l.mu.Unlock()
		return
	}
	var out struct {
		EventIDs []string `json:"event_ids"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		// A 200 whose ids we cannot read would make the ledger incomplete.
		l.mu.Lock()
		l.status[-1]++
		l.lastErr = "unreadable 200 answer: " + err.Error()
		l.mu.Unlock()
		return
	}
	now := time.Now()
	ex := l.expects[bi]
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range out.EventIDs {
		e := Handled
		if len(out.EventIDs) == len(ex) {
			e = ex[i]
		}
		l.accepted = append(l.accepted, Accepted{ID: id, At: now, Expect: e})
	}
}

// Stop stops offering load and waits for requests in flight to end.
func (l *Load) Stop() {
	l.cancel()
	l.done.Wait()
}

// Accepted returns the events accepted so far.
func (l *Load) Accepted() []Accepted {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Accepted(nil), l.accepted...)
}

// AcceptedCount is len(Accepted()) without the copy.
func (l *Load) AcceptedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// Refusals summarises the answers that accepted nothing: statuses other than
// 200 (-1: a 200 without readable event_ids) and transport errors.
func (l *Load) Refusals() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for code, n := range l.status {
		fmt.Fprintf(&b, "%d×%d ", n, code)
	}
	fmt.Fprintf(&b, "transport errors %d", l.errs)
	if l.lastErr != "" {
		fmt.Fprintf(&b, " (last: %s)", l.lastErr)
	}
	return b.String()
}

// UnreadableOK counts 200 answers without readable event_ids: each is a
// ledger hole, so a run with any is not conclusive.
func (l *Load) UnreadableOK() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status[-1]
}
