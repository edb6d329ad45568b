package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	cbackoff "github.com/cenkalti/backoff/v4"
)

// excerptLen is how much of a rejecting response's body is kept for the
// dead-letter entry.
const excerptLen = 512

// maxRetryAfter bounds a server's Retry-After, so a garbage value cannot park
// alerts for days.
const maxRetryAfter = time.Hour

// class is what to do with the alerts of a request after its answer.
type class int

const (
	delivered class = iota // 2xx: acknowledge
	retryable              // 408, 429, 5xx, timeout, connection error: retry later
	rejected               // other 4xx, 3xx, 1xx: dead-letter
	aborted                // the forwarder stopped mid-request: leave for another forwarder
)

// outcome of one webhook request.
type outcome struct {
	class      class
	status     int    // HTTP status; 0 without an answer
	reason     string // metric reason of a failure
	err        string // readable description of a failure
	body       string // excerpt of the answer of a rejection
	retryAfter time.Duration
	latency    time.Duration
}

// newHTTPClient returns the client for the webhook. Connections are kept for
// reuse (every request goes to one host, up to concurrency at a time), and
// redirects are never followed: a 3xx means the webhook URL is wrong, which
// retrying cannot fix.
func newHTTPClient(base *http.Client, concurrency int) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if base != nil {
		c := *base
		c.CheckRedirect = noRedirect
		return &c
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * concurrency,
		MaxIdleConnsPerHost:   2 * concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

// keyRefreshEvery bounds how often a refused key makes the forwarder re-read
// the secrets provider (every forwarder request may be refused at once).
const keyRefreshEvery = 5 * time.Second

// post sends one body, the concatenation of parts (bodyParts), and
// classifies the answer. ctx bounds the request with
// the forwarder's send context (cancelled only when a drain runs out of time).
// When Moogsoft refuses the key (401, 403) and the provider holds another
// one by now, for example after a rotation, the body is sent again once with it.
func (f *Forwarder) post(ctx context.Context, parts [][]byte, timeout time.Duration) outcome {
	key := f.apiKey()
	o := f.postWith(ctx, parts, timeout, key)
	if (o.status != http.StatusUnauthorized && o.status != http.StatusForbidden) || f.refreshKey == nil {
		return o
	}
	// mono() is > 0 here, so 0 can mean "never refreshed".
	now := int64(f.mono())
	if last := f.refreshedAt.Load(); (last == 0 || now-last >= int64(keyRefreshEvery)) && f.refreshedAt.CompareAndSwap(last, now) {
		if err := f.refreshKey(ctx); err != nil {
			f.log.Warn("re-read MOOG_API_KEY after Moogsoft refused it", "err", err)
		}
	}
	if next := f.apiKey(); next != key {
		return f.postWith(ctx, parts, timeout, next)
	}
	return o
}

func (f *Forwarder) postWith(ctx context.Context, parts [][]byte, timeout time.Duration, key string) outcome {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, f.url, &partsReader{parts: parts})
	if err != nil {
		// The URL was validated in New; this cannot be retried into success.
		return outcome{class: rejected, reason: reasonRejected, err: fmt.Sprintf("build request: %v", err)}
	}
	// What NewRequest sets for a *bytes.Reader: the length (sent as
	// Content-Length) and a way to read the body again (for the Transport
	// to retry on a fresh connection).
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	req.ContentLength = int64(size)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&partsReader{parts: parts}), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mutt-forwarder")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		o := outcome{class: retryable, latency: time.Since(start)}
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			o.class, o.err = aborted, "forwarder stopped before Moogsoft answered"
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			o.reason, o.err = reasonTimeout, fmt.Sprintf("no answer from Moogsoft within %s", timeout)
		default:
			o.reason, o.err = reasonConnection, fmt.Sprintf("post to Moogsoft: %v", err)
		}
		return o
	}
	o := classify(resp.StatusCode)
	if loc := resp.Header.Get("Location"); o.class == rejected && loc != "" {
		o.err += " redirecting to " + loc + " (redirects are not followed: check MOOG_WEBHOOK_URL)"
	}
	if o.class != delivered {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptLen))
		o.body = strings.ToValidUTF8(string(b), "\uFFFD")
		if o.class == retryable {
			o.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), serverNow(resp.Header, time.Now()))
		}
	}
	// Drain (bounded) so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	o.latency = time.Since(start)
	return o
}

// partsReader reads parts one after the other. It never changes them, so
// the same parts can back several readers of one body, and nothing has to
// be copied or kept until the Transport is done reading (which may be after
// the answer arrived).
type partsReader struct {
	parts [][]byte
	off   int // read of parts[0]
}

func (r *partsReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.parts) > 0 {
		c := copy(p[n:], r.parts[0][r.off:])
		n += c
		r.off += c
		if r.off == len(r.parts[0]) {
			r.parts, r.off = r.parts[1:], 0
		}
	}
	if len(r.parts) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// classify maps a status to what happens to the alerts.
func classify(status int) outcome {
	o := outcome{status: status}
	switch {
	case status >= 200 && status < 300:
		o.class = delivered
	case status == http.StatusTooManyRequests:
		o.class, o.reason = retryable, reasonRateLimit
	case status == http.StatusRequestTimeout || status >= 500:
		o.class, o.reason = retryable, reasonHTTP
	default:
		o.class, o.reason = rejected, reasonRejected
	}
	if o.class != delivered {
		o.err = fmt.Sprintf("Moogsoft answered HTTP %d %s", status, http.StatusText(status))
	}
	return o
}

// splittable reports whether a rejected batch should be retried alert by
// alert: these statuses can be caused by one bad event or by the batch's size,
// unlike 401/403/404/3xx, which reject any request.
func splittable(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnprocessableEntity
}

// parseRetryAfter reads a Retry-After header (delay seconds or an HTTP date).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// serverNow is the moment an answer was sent by the server's own clock: its
// Date header when it has one, else local (the time it arrived). A
// Retry-After date is on the server's clock; measured against this replica's
// it would be off by their disagreement (a replica minutes behind would hold
// every forwarder minutes too long through the shared hold, one ahead would
// not wait at all). Both headers have one-second resolution.
func serverNow(h http.Header, local time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return local
}

// backoff is the delay before retry number attempt (1-based): full jitter,
// uniform in [0, min(maxDelay, base·2^(attempt-1))]. rnd(n) returns [0, n).
// The ceiling is the library's exponential sequence without randomization;
// the jitter is drawn here because the library's is symmetric around its
// interval and reads the global source, and a retry is scheduled per alert
// from its failure count rather than kept as state per alert.
func backoff(attempt int, base, maxDelay time.Duration, rnd func(int64) int64) time.Duration {
	if base <= 0 || maxDelay <= 0 {
		return 0
	}
	seq := cbackoff.NewExponentialBackOff(
		cbackoff.WithInitialInterval(min(base, maxDelay)),
		cbackoff.WithMaxInterval(maxDelay),
		cbackoff.WithMultiplier(2),
		cbackoff.WithRandomizationFactor(0),
		cbackoff.WithMaxElapsedTime(0),
	)
	ceil := seq.NextBackOff()
	for i := 1; i < attempt && ceil < maxDelay; i++ {
		ceil = seq.NextBackOff()
	}
	return time.Duration(rnd(int64(ceil) + 1))
}
