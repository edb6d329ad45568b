package vaulttest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// do sends a raw request, as the documented curl examples do.
func do(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.Addr()+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp.StatusCode, out
}

func TestDocumentedAPI(t *testing.T) {
	t.Parallel()
	s := New(t)
	root := s.RootToken()

	code, out := do(t, s, "GET", "/v1/secret/data/mutt", "", "")
	require.Equal(t, 403, code)
	require.Equal(t, []any{"permission denied"}, out["errors"])

	code, out = do(t, s, "GET", "/v1/secret/data/mutt", root, "")
	require.Equal(t, 404, code)
	require.Equal(t, []any{}, out["errors"])

	code, out = do(t, s, "POST", "/v1/secret/data/mutt", root, `{"options":{"cas":0},"data":{"A":"1"}}`)
	require.Equal(t, 200, code)
	require.EqualValues(t, 1, out["data"].(map[string]any)["version"])

	code, out = do(t, s, "PUT", "/v1/secret/data/mutt", root, `{"options":{"cas":0},"data":{"A":"2"}}`)
	require.Equal(t, 400, code)
	require.Equal(t, []any{"check-and-set parameter did not match the current version"}, out["errors"])

	code, _ = do(t, s, "POST", "/v1/secret/data/mutt", root, `{"data":{"A":"3"}}`)
	require.Equal(t, 200, code, "no cas: always written")

	code, out = do(t, s, "GET", "/v1/secret/data/mutt", root, "")
	require.Equal(t, 200, code)
	data := out["data"].(map[string]any)
	require.Equal(t, map[string]any{"A": "3"}, data["data"])
	require.EqualValues(t, 2, data["metadata"].(map[string]any)["version"])

	code, out = do(t, s, "GET", "/v1/secret/data/mutt?version=1", root, "")
	require.Equal(t, 200, code)
	require.Equal(t, map[string]any{"A": "1"}, out["data"].(map[string]any)["data"])

	code, out = do(t, s, "GET", "/v1/secret/metadata/mutt", root, "")
	require.Equal(t, 200, code)
	require.EqualValues(t, 2, out["data"].(map[string]any)["current_version"])
	require.Len(t, out["data"].(map[string]any)["versions"], 2)

	code, _ = do(t, s, "GET", "/v1/kv/data/mutt", root, "")
	require.Equal(t, 404, code, "no such mount")

	code, out = do(t, s, "GET", "/v1/auth/token/lookup-self", root, "")
	require.Equal(t, 200, code)
	require.Equal(t, root, out["data"].(map[string]any)["id"])

	s.AddAppRole("r", "s")
	code, out = do(t, s, "POST", "/v1/auth/approle/login", "", `{"role_id":"r","secret_id":"bad"}`)
	require.Equal(t, 400, code)
	require.Equal(t, []any{"invalid role or secret ID"}, out["errors"])
	code, out = do(t, s, "POST", "/v1/auth/approle/login", "", `{"role_id":"r","secret_id":"s"}`)
	require.Equal(t, 200, code)
	auth := out["auth"].(map[string]any)
	tok := auth["client_token"].(string)
	require.EqualValues(t, 3600, auth["lease_duration"])
	require.Equal(t, true, auth["renewable"])

	code, out = do(t, s, "POST", "/v1/auth/token/renew-self", tok, `{"increment":"30m"}`)
	require.Equal(t, 200, code)
	require.EqualValues(t, 1800, out["auth"].(map[string]any)["lease_duration"])

	s.RevokeToken(tok)
	code, _ = do(t, s, "GET", "/v1/secret/data/mutt", tok, "")
	require.Equal(t, 403, code)

	vals, ver := s.Get("mutt")
	require.Equal(t, map[string]string{"A": "3"}, vals)
	require.Equal(t, 2, ver)
	require.Equal(t, 3, s.Put("mutt", map[string]string{"B": "x"}))
	require.Positive(t, s.Count("/v1/secret/data/mutt"))
}
