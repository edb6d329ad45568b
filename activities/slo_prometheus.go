package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
)

// promMaxBody bounds what is read of one answer: the SLO queries return one
// sample, anything much larger is not the Prometheus API.
const promMaxBody = 1 << 20

// promQueryTimeout is the evaluation timeout Prometheus is asked to honour;
// promRequestTimeout bounds the whole request, so that one SLO (its queries
// run concurrently) stays well within the activity's heartbeat timeout.
const (
	promQueryTimeout   = "10s"
	promRequestTimeout = 15 * time.Second
)

// promClient runs instant queries on the Prometheus HTTP API (GET /api/v1/query).
type promClient struct {
	http *http.Client
	base string // PROMETHEUS_URL, possibly with a path prefix
}

// promResponse is the envelope of every Prometheus API answer.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// query evaluates q at instant at and returns its single value; ok is false
// when there is no data (an empty result, NaN or ±Inf). A query Prometheus
// rejects, or an answer that is not the Prometheus API, is a non-retryable
// error: repeating it cannot help. Other failures (connection, 5xx, 422
// evaluation timeouts) are returned as they are, for Temporal to retry.
func (c *promClient) query(ctx context.Context, q string, at time.Time) (v float64, ok bool, err error) {
	u, err := url.JoinPath(c.base, "api/v1/query")
	if err != nil {
		return 0, false, temporal.NewNonRetryableApplicationError("invalid PROMETHEUS_URL", "PrometheusConfig", err)
	}
	params := url.Values{}
	params.Set("query", q)
	params.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	params.Set("timeout", promQueryTimeout)
	ctx, cancel := context.WithTimeout(ctx, promRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"?"+params.Encode(), nil)
	if err != nil {
		return 0, false, temporal.NewNonRetryableApplicationError("build prometheus request", "PrometheusConfig", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("query prometheus: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, promMaxBody))
		_ = resp.Body.Close()
	}()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, promMaxBody))
	if err != nil {
		return 0, false, fmt.Errorf("read prometheus answer: %w", err)
	}
	var pr promResponse
	decodeErr := json.Unmarshal(raw, &pr)

	switch {
	case resp.StatusCode == http.StatusOK && decodeErr == nil && pr.Status == "success":
		return promValue(pr)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusUnprocessableEntity:
		// 422 is an evaluation failure such as a query timeout: worth another try.
		return 0, false, fmt.Errorf("prometheus answered %d: %s", resp.StatusCode, promErrorText(pr, raw))
	default:
		return 0, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("prometheus answered %d to %q: %s", resp.StatusCode, q, promErrorText(pr, raw)),
			"PrometheusRejected", nil)
	}
}

// promValue extracts the value of a vector (at most one sample: the SLO
// queries aggregate) or scalar result.
func promValue(pr promResponse) (float64, bool, error) {
	var sample [2]json.RawMessage
	switch pr.Data.ResultType {
	case "vector":
		var vec []struct {
			Value [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(pr.Data.Result, &vec); err != nil {
			return 0, false, temporal.NewNonRetryableApplicationError("decode prometheus vector", "PrometheusRejected", err)
		}
		switch len(vec) {
		case 0:
			return 0, false, nil
		case 1:
			sample = vec[0].Value
		default:
			return 0, false, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("prometheus returned %d series where one was expected", len(vec)), "PrometheusRejected", nil)
		}
	case "scalar":
		if err := json.Unmarshal(pr.Data.Result, &sample); err != nil {
			return 0, false, temporal.NewNonRetryableApplicationError("decode prometheus scalar", "PrometheusRejected", err)
		}
	default:
		return 0, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("prometheus returned a %q result where a vector was expected", pr.Data.ResultType), "PrometheusRejected", nil)
	}
	var text string
	if err := json.Unmarshal(sample[1], &text); err != nil {
		return 0, false, temporal.NewNonRetryableApplicationError("decode prometheus sample value", "PrometheusRejected", err)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, false, temporal.NewNonRetryableApplicationError("parse prometheus sample value", "PrometheusRejected", err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// 0/0: no event in the window. That is no data, not 0 % or 100 %.
		return 0, false, nil
	}
	return v, true, nil
}

// promErrorText is Prometheus's error message, or the start of whatever else answered.
func promErrorText(pr promResponse, raw []byte) string {
	if pr.Error != "" {
		return pr.ErrorType + ": " + pr.Error
	}
	const limit = 200
	if len(raw) > limit {
		raw = raw[:limit]
	}
	return strconv.Quote(string(raw))
}
