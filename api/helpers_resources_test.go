package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/keyspace"
	"github.com/mutt-ops/mutt/internal/secrets"
	"github.com/mutt-ops/mutt/internal/testenv"
)

const (
	resAdminKey = "res-admin-key-0123456789"
	resROKey    = "res-readonly-key-0123456789"
)

// resEnv is one isolated API server over its own database and key prefix.
type resEnv struct {
	t    *testing.T
	h    http.Handler
	db   *pgxpool.Pool
	rdb  *redis.Client
	keys keyspace.Keys
}

func newResEnv(t *testing.T) *resEnv {
	t.Helper()
	db := testenv.Postgres(t)
	rdb, keys := testenv.Redis(t)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	s, err := New(Options{
		DB: db, Redis: rdb, Keys: keys, Dyn: dynconfig.NewStore(rdb, keys, log),
		Secrets:   secrets.StaticCache(map[string]string{"WEBUI_API_KEY": resAdminKey}),
		AdminKeys: []string{resAdminKey}, KeyNameSecret: testKeyNameSecret,
		ReadOnlyKeys: []string{resROKey},
		Log:          log, Registerer: reg, Gatherer: reg,
	})
	require.NoError(t, err)
	return &resEnv{t: t, h: s.Handler(), db: db, rdb: rdb, keys: keys}
}

// do sends a request with the given key (empty: none) and decodes the JSON answer into out (if non-nil).
func (e *resEnv) do(method, path, key string, body any, hdr map[string]string, out any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	setTestReason(req)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(w.Body.Bytes(), out), "body: %s", w.Body.String())
	}
	return w
}

// testReason is the X-Change-Reason every write of these tests carries, as
// the API requires a reason on each change; tests of the reason itself
// override the header or send a body reason (which takes precedence).
const testReason = "test change"

func setTestReason(req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		req.Header.Set("X-Change-Reason", testReason)
	}
}

func (e *resEnv) admin(method, path string, body any, out any) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(method, path, resAdminKey, body, nil, out)
}

// auditRow is a config_audit_log row as tests check it.
type auditRow struct {
	ChangedBy, Operation, TableName, RecordID string
	Old, New                                  map[string]any
	Reason, CorrelationID                     *string
}

func (e *resEnv) auditRows(table, record string) []auditRow {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT changed_by, operation, table_name, record_id,
        old_values, new_values, reason, correlation_id FROM config_audit_log
        WHERE table_name = $1 AND record_id = $2 ORDER BY id`, table, record)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var a auditRow
		require.NoError(e.t, rows.Scan(&a.ChangedBy, &a.Operation, &a.TableName, &a.RecordID, &a.Old, &a.New,
			&a.Reason, &a.CorrelationID))
		out = append(out, a)
	}
	require.NoError(e.t, rows.Err())
	return out
}

// subscribeRules returns a channel of messages on the rules-update channel.
func (e *resEnv) subscribeRules() <-chan *redis.Message {
	e.t.Helper()
	ps := e.rdb.Subscribe(context.Background(), e.keys.RulesUpdates())
	_, err := ps.Receive(context.Background()) // wait for the subscription confirmation
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = ps.Close() })
	return ps.Channel()
}

func requirePublished(t *testing.T, ch <-chan *redis.Message) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}, 5e9, 1e7)
}

func requireErrorJSON(t *testing.T, w *httptest.ResponseRecorder, status int, mentions string) {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	var body map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	require.NotEmpty(t, body["error"])
	require.Contains(t, body["message"], mentions)
	require.Contains(t, body, "correlation_id")
}
