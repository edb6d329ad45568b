package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	muttapp "github.com/mutt-ops/mutt/app"
)

// defaultAPIURL is where `mutt dev` and `mutt api` listen by default.
const defaultAPIURL = "http://127.0.0.1:8090"

// apiClient calls the admin API with the operator's key.
type apiClient struct {
	base, key string
	hc        *http.Client
	err       error // a malformed setting
}

// apiError is a non-2xx answer of the admin API.
type apiError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("admin API answered %d", e.Status)
	}
	return fmt.Sprintf("admin API refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// api is the admin API client of this invocation: --api-url, else
// MUTT_API_URL, else the default; --api-key, else MUTT_API_KEY, else the
// first of WEBUI_API_KEY, else the mutt dev admin key. A malformed setting is
// reported (naming it) by the first call.
func (a *app) api() *apiClient {
	e := a.cfgEnv()
	base := a.apiURL
	if base == "" {
		base = e.URL(defaultAPIURL, []string{"http", "https"}, "MUTT_API_URL")
	}
	key := a.apiKey
	if key == "" {
		key = e.String(muttapp.DevAPIAdminKey, "MUTT_API_KEY", "WEBUI_API_KEY")
	}
	key, _, _ = strings.Cut(key, ",") // WEBUI_API_KEY may list several
	c := &apiClient{base: strings.TrimRight(base, "/"), key: strings.TrimSpace(key), hc: &http.Client{Timeout: 30 * time.Second}}
	if err := e.Err(); err != nil {
		c.err = usageErr("%v", err)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.err = usageErr("--api-url: want an http or https URL, not %q", base)
	}
	return c
}

// do sends body (JSON, when not nil) and decodes a 2xx answer into out. A
// refused request is an apiError (exit 4 for 4xx), a connection failure exit 3.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	if c.err != nil {
		return c.err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return usageErr("--api-url: %v", err)
	}
	req.Header.Set("X-API-KEY", c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return unreachable("admin API at "+c.base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the admin API's answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, ae)
		code := exitFailure
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			code = exitRefused
		}
		return &exitError{code: code, err: ae}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the admin API's answer to %s %s: %w", method, path, err)
	}
	return nil
}
