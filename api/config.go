package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/redisconn"
)

// configTable is config_audit_log.table_name of dynamic config changes.
const configTable = "dynamic_config"

// maxBody bounds request bodies; config values and reasons are small.
const maxBody = 1 << 20

// maxReason bounds an audit reason.
const maxReason = 1000

// ConfigItem is one dynamic config key as the API shows it.
type ConfigItem struct {
	Key         string   `json:"key"`
	Value       any      `json:"value"`     // typed: number, string or bool
	RawValue    string   `json:"raw_value"` // as stored in Redis
	Default     any      `json:"default"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Services    []string `json:"services"`
	// Source is "redis" when Redis holds a value, "default" otherwise.
	// "invalid" means Redis holds a value the registry rejects; services then
	// keep the default, so Value shows the default and RawValue the bad text.
	Source string `json:"source"`
}

func (s *Server) registerConfig(g, admin *gin.RouterGroup, v string) {
	g.GET("/config", func(c *gin.Context) { s.listConfig(c, v == DeprecatedV1) })
	g.GET("/config/history", s.configHistory)
	g.GET("/config/:key", s.getConfig)
	admin.PUT("/config/:key", s.putConfig)
	admin.DELETE("/config/:key", s.deleteConfig)
}

func configItem(k dynconfig.Key, raw *string) ConfigItem {
	def, _ := k.Parse(k.Default)
	it := ConfigItem{Key: k.Name, Default: def, Type: string(k.Kind), Description: k.Description,
		Enum: k.Enum, Services: k.Services, Value: def, RawValue: k.Default, Source: "default"}
	if it.Services == nil {
		it.Services = []string{}
	}
	if k.Kind == dynconfig.Int || k.Kind == dynconfig.Float {
		lo, hi := k.Min, k.Max
		it.Min, it.Max = &lo, &hi
	}
	if raw != nil {
		it.RawValue, it.Source = *raw, "invalid"
		if v, err := k.Parse(*raw); err == nil {
			it.Value, it.Source = v, "redis"
		}
	}
	return it
}

// readConfig reads the keys' current values from Redis (never a process
// cache: the API must show what services will apply).
func (s *Server) readConfig(c *gin.Context, ks []dynconfig.Key) ([]ConfigItem, error) {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = s.o.Keys.Config(k.Name)
	}
	vals, err := redisconn.MGet(c, s.o.Redis, names...)
	if err != nil {
		return nil, fmt.Errorf("read dynamic config: %w", err)
	}
	out := make([]ConfigItem, len(ks))
	for i, k := range ks {
		var raw *string
		if str, ok := vals[i].(string); ok {
			raw = &str
		}
		out[i] = configItem(k, raw)
	}
	return out, nil
}

// listConfig answers v2 with {"config": [items], "total"}; v1 keeps the
// Python MUTT's {"config": {key: value}} (values as stored, strings) and
// carries the items as "items".
func (s *Server) listConfig(c *gin.Context, v1 bool) {
	items, err := s.readConfig(c, dynconfig.Keys())
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	if v1 {
		m := make(map[string]string, len(items))
		for _, it := range items {
			m[it.Key] = it.RawValue
		}
		c.JSON(http.StatusOK, gin.H{"config": m, "items": items, "total": len(items)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"config": items, "total": len(items)})
}

// configPutResult is the answer to PUT /config/{key}: the item, plus the
// Python MUTT's old_value (null when Redis held none) and new_value.
type configPutResult struct {
	ConfigItem
	OldValue *string `json:"old_value"`
	NewValue string  `json:"new_value"`
}

func (s *Server) lookupKey(c *gin.Context) (dynconfig.Key, bool) {
	k, ok := dynconfig.Lookup(c.Param("key"))
	if !ok {
		abort(c, http.StatusNotFound, errNotFound, "unknown config key "+quoteShort(c.Param("key")))
	}
	return k, ok
}

func (s *Server) getConfig(c *gin.Context) {
	k, ok := s.lookupKey(c)
	if !ok {
		return
	}
	items, err := s.readConfig(c, []dynconfig.Key{k})
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	c.JSON(http.StatusOK, items[0])
}

// configValueAudit is what old_values/new_values hold for a config change.
type configValueAudit struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// decodePutBody decodes {"value": …, "reason": …}; value may be a JSON
// string, number or bool and is turned into the text Redis stores. A refusal
// is msg, which names the field.
func decodePutBody(body []byte) (value, reason string, msg string) {
	var req struct {
		Value  json.RawMessage `json:"value"`
		Reason *string         `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !atEOF(dec) {
		return "", "", "body: must be a JSON object {\"value\": …, \"reason\": …} with no other fields"
	}
	if len(req.Value) == 0 || string(req.Value) == "null" {
		return "", "", "value: is required"
	}
	var v any
	vd := json.NewDecoder(bytes.NewReader(req.Value))
	vd.UseNumber()
	if err := vd.Decode(&v); err != nil {
		return "", "", "value: is not valid JSON"
	}
	switch t := v.(type) {
	case string:
		value = t
	case json.Number:
		value = t.String()
	case bool:
		value = strconv.FormatBool(t)
	default:
		return "", "", "value: must be a string, number or boolean"
	}
	if req.Reason != nil {
		reason = *req.Reason
	}
	// The audit row holds both; PostgreSQL stores no NUL.
	if strings.ContainsRune(value, 0) {
		return "", "", "value: must not contain NUL characters"
	}
	if strings.ContainsRune(reason, 0) {
		return "", "", "reason: must not contain NUL characters"
	}
	if len(reason) > maxReason {
		return "", "", fmt.Sprintf("reason: is longer than %d characters", maxReason)
	}
	return value, reason, ""
}

// putConfig changes one key. Order: audit row inserted in a transaction,
// then Redis set + published, then commit. If Redis fails the transaction
// rolls back (503, nothing changed); if the audit insert fails Redis is never
// touched; if the commit fails the old Redis value is put back.
func (s *Server) putConfig(c *gin.Context) {
	k, ok := s.lookupKey(c)
	if !ok {
		return
	}
	// A body over maxBody is a 413, as on every other write.
	body, ok := bufferBody(c)
	if !ok {
		return
	}
	value, reason, msg := decodePutBody(body)
	if msg != "" {
		abort(c, http.StatusBadRequest, errBadRequest, msg)
		return
	}
	reason = changeReason(c, reason)
	if err := checkReason(reason); err != nil {
		answerInvalid(c, err)
		return
	}
	typed, err := k.Parse(value)
	if err != nil {
		abort(c, http.StatusBadRequest, errInvalidValue, err.Error()) // names the key, never internals
		return
	}
	stored := fmt.Sprint(typed) // normalised ("  5 " → "5")

	redisKey := s.o.Keys.Config(k.Name)
	oldRaw, err := s.o.Redis.Get(c, redisKey).Result()
	oldExists := true
	if errors.Is(err, redis.Nil) {
		oldExists, err = false, nil
	}
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	old := configValueAudit{Value: k.Default, Source: "default"}
	if oldExists {
		old = configValueAudit{Value: oldRaw, Source: "redis"}
	}

	tx, err := s.o.DB.Begin(c)
	if err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	defer func() { _ = tx.Rollback(c) }() // no-op after commit
	entry := AuditEntry{ChangedBy: caller(c), Operation: "UPDATE", TableName: configTable, RecordID: k.Name,
		Reason: reason, CorrelationID: correlationID(c), Old: old, New: configValueAudit{Value: stored, Source: "redis"}}
	if err := writeConfigAudit(c, tx, entry); err != nil {
		s.unavailable(c, "audit log unavailable; nothing was changed", err)
		return
	}
	if err := dynconfig.Set(c, s.o.Redis, s.o.Keys, k.Name, stored); err != nil {
		s.unavailable(c, "redis unavailable; nothing was changed", err)
		return
	}
	if err := tx.Commit(c); err != nil {
		s.restoreConfig(c, k.Name, oldRaw, oldExists)
		s.unavailable(c, "database unavailable; the change was undone", err)
		return
	}
	s.o.Log.Info("dynamic config changed", "component", "api", "key", k.Name, "value", stored,
		"changed_by", caller(c), "correlation_id", correlationID(c))
	res := configPutResult{NewValue: stored}
	if oldExists {
		res.OldValue = &oldRaw
	}
	items, err := s.readConfig(c, []dynconfig.Key{k})
	if err != nil {
		res.ConfigItem = configItem(k, &stored)
	} else {
		res.ConfigItem = items[0]
	}
	c.JSON(http.StatusOK, res)
}

// deleteConfig removes a key's stored value, so every service falls back to
// the registry default. Same order and guarantees as putConfig: the audit row
// (operation DELETE, new_values NULL) is inserted in a transaction, Redis is
// changed and the key published, then the transaction commits; a failed
// commit puts the old value back. Deleting a key that holds no value changes
// nothing and writes no audit row (idempotent for scripts).
func (s *Server) deleteConfig(c *gin.Context) {
	k, ok := s.lookupKey(c)
	if !ok {
		return
	}
	reason, ok := deleteReason(c)
	if !ok {
		return
	}
	redisKey := s.o.Keys.Config(k.Name)
	oldRaw, err := s.o.Redis.Get(c, redisKey).Result()
	if errors.Is(err, redis.Nil) {
		c.JSON(http.StatusOK, configItem(k, nil))
		return
	}
	if err != nil {
		s.unavailable(c, "redis unavailable", err)
		return
	}
	tx, err := s.o.DB.Begin(c)
	if err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	defer func() { _ = tx.Rollback(c) }() // no-op after commit
	entry := AuditEntry{ChangedBy: caller(c), Operation: "DELETE", TableName: configTable, RecordID: k.Name,
		Reason: reason, CorrelationID: correlationID(c), Old: configValueAudit{Value: oldRaw, Source: "redis"}}
	if err := writeConfigAudit(c, tx, entry); err != nil {
		s.unavailable(c, "audit log unavailable; nothing was changed", err)
		return
	}
	if err := s.o.Redis.Del(c, redisKey).Err(); err != nil {
		s.unavailable(c, "redis unavailable; nothing was changed", err)
		return
	}
	if err := s.o.Redis.Publish(c, s.o.Keys.ConfigUpdates(), k.Name).Err(); err != nil {
		s.restoreConfig(c, k.Name, oldRaw, true)
		s.unavailable(c, "redis unavailable; nothing was changed", err)
		return
	}
	if err := tx.Commit(c); err != nil {
		s.restoreConfig(c, k.Name, oldRaw, true)
		s.unavailable(c, "database unavailable; the change was undone", err)
		return
	}
	s.o.Log.Info("dynamic config reset to its default", "component", "api", "key", k.Name,
		"changed_by", caller(c), "correlation_id", correlationID(c))
	c.JSON(http.StatusOK, configItem(k, nil))
}

// restoreConfig puts back the value a failed commit left in Redis, so Redis
// and the audit log agree. Best effort: the failure is logged.
func (s *Server) restoreConfig(c *gin.Context, name, old string, existed bool) {
	var err error
	if existed {
		err = dynconfig.Set(c, s.o.Redis, s.o.Keys, name, old)
	} else if err = s.o.Redis.Del(c, s.o.Keys.Config(name)).Err(); err == nil {
		err = s.o.Redis.Publish(c, s.o.Keys.ConfigUpdates(), name).Err()
	}
	if err != nil {
		s.o.Log.Error("could not undo a config change whose audit commit failed", "key", name, "err", err,
			"correlation_id", correlationID(c))
	}
}

// ConfigHistoryEntry is one row of GET /config/history.
type ConfigHistoryEntry struct {
	ID            int64           `json:"id"`
	ChangedAt     time.Time       `json:"changed_at"`
	ChangedBy     string          `json:"changed_by"`
	Operation     string          `json:"operation"`
	Key           string          `json:"key"`
	OldValues     json.RawMessage `json:"old_values"`
	NewValues     json.RawMessage `json:"new_values"`
	Reason        *string         `json:"reason"`
	CorrelationID *string         `json:"correlation_id"`
	// The Python MUTT's names of the same facts (its rows were
	// config_audit_log rows: table_name dynamic_config, record_id, and a
	// created_at it never had).
	TableName string    `json:"table_name"`
	RecordID  string    `json:"record_id"`
	CreatedAt time.Time `json:"created_at"`
}

// configPageParams reads limit (1..500, default 50) and offset (≥ 0), or
// the Python MUTT's page (≥ 1) in place of offset.
func configPageParams(c *gin.Context) (limit, offset int, ok bool) {
	limit, offset = 50, 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			abort(c, http.StatusBadRequest, errBadRequest, "limit: must be an integer between 1 and 500")
			return 0, 0, false
		}
		limit = n
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			abort(c, http.StatusBadRequest, errBadRequest, "offset: must be a non-negative integer")
			return 0, 0, false
		}
		offset = n
	}
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || c.Query("offset") != "" {
			abort(c, http.StatusBadRequest, errBadRequest, "page: must be a positive integer, and not sent with offset")
			return 0, 0, false
		}
		if n > maxPage {
			abort(c, http.StatusBadRequest, errBadRequest, fmt.Sprintf("page: must be at most %d", maxPage))
			return 0, 0, false
		}
		offset = (n - 1) * limit
	}
	return limit, offset, true
}

// maxPage bounds page numbers so (page-1)*limit cannot overflow.
const maxPage = 1_000_000

func (s *Server) configHistory(c *gin.Context) {
	limit, offset, ok := configPageParams(c)
	if !ok {
		return
	}
	key := c.Query("key")
	if key != "" {
		if _, known := dynconfig.Lookup(key); !known {
			abort(c, http.StatusBadRequest, errBadRequest, "key: unknown config key "+quoteShort(key))
			return
		}
	}
	var total int
	if err := s.o.DB.QueryRow(c, `SELECT count(*) FROM config_audit_log
		WHERE table_name = $1 AND ($2 = '' OR record_id = $2)`, configTable, key).Scan(&total); err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	rows, err := s.o.DB.Query(c, `SELECT id, changed_at, changed_by, operation, record_id, old_values, new_values, reason, correlation_id
		FROM config_audit_log WHERE table_name = $1 AND ($2 = '' OR record_id = $2)
		ORDER BY changed_at DESC, id DESC LIMIT $3 OFFSET $4`, configTable, key, limit, offset)
	if err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConfigHistoryEntry, error) {
		var ch ConfigHistoryEntry
		err := r.Scan(&ch.ID, &ch.ChangedAt, &ch.ChangedBy, &ch.Operation, &ch.Key, &ch.OldValues, &ch.NewValues,
			&ch.Reason, &ch.CorrelationID)
		ch.ChangedAt = ch.ChangedAt.UTC()
		ch.TableName, ch.RecordID, ch.CreatedAt = configTable, ch.Key, ch.ChangedAt
		return ch, err
	})
	if err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"history": changes,
		"pagination": gin.H{"limit": limit, "offset": offset, "total": total,
			"page": offset/limit + 1, "pages": (total + limit - 1) / limit}})
}
