package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
)

// Colours of SLO statuses on the dashboard.
const (
	colorGreen  = "green"
	colorYellow = "yellow"
	colorRed    = "red"
	colorGrey   = "grey"
)

// defaultBudgetWarning is the remaining error budget below which an "ok" SLO
// is shown yellow, when the report's policy does not say.
const defaultBudgetWarning = 0.25

func (s *Server) registerSLO(g *gin.RouterGroup, _ string) {
	g.GET("/slo", s.slo)
	g.GET("/slo/status", s.slo)
}

// sloColor maps a status (and the remaining budget) to a colour: critical is
// red; warning, or ok with less than the warning share of the budget left,
// is yellow; ok is green; anything else (no_data, unknown) grey.
func sloColor(status string, budget *float64, warnBelow float64) string {
	switch status {
	case "critical":
		return colorRed
	case "warning":
		return colorYellow
	case "ok":
		if budget != nil && *budget < warnBelow {
			return colorYellow
		}
		return colorGreen
	}
	return colorGrey
}

// slo serves the latest slo_reports row (written by the SLO workflow),
// colouring each SLO. The report is passed through as JSON objects so fields
// the workflow adds later reach clients without an API change.
func (s *Server) slo(c *gin.Context) {
	var (
		id          int64
		generatedAt time.Time
		status      string
		raw         []byte
	)
	err := s.o.DB.QueryRow(c, `SELECT id, generated_at, status, report FROM slo_reports
		ORDER BY generated_at DESC, id DESC LIMIT 1`).Scan(&id, &generatedAt, &status, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		c.JSON(http.StatusOK, gin.H{"status": "no_data", "color": colorGrey, "report_id": nil,
			"generated_at": nil, "slos": []any{}, "message": "no SLO report yet; the SLO workflow writes one every 5 minutes"})
		return
	}
	if err != nil {
		s.unavailable(c, "database unavailable", err)
		return
	}
	var report map[string]any
	if err := json.Unmarshal(raw, &report); err != nil {
		s.internalError(c, "decode slo report", err)
		return
	}
	warnBelow := defaultBudgetWarning
	if p, ok := report["policy"].(map[string]any); ok {
		if w, ok := p["budget_warning_below"].(float64); ok && w > 0 {
			warnBelow = w
		}
	}
	slos, _ := report["slos"].([]any)
	if slos == nil {
		slos = []any{}
	}
	for _, e := range slos {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		st, _ := m["status"].(string)
		var budget *float64
		if b, ok := m["error_budget_remaining"].(float64); ok {
			budget = &b
		}
		m["color"] = sloColor(st, budget, warnBelow)
	}
	report["slos"] = slos
	report["report_id"] = id
	report["status"] = status
	report["generated_at"] = generatedAt.UTC().Format(time.RFC3339)
	report["color"] = sloColor(status, nil, warnBelow)
	c.JSON(http.StatusOK, report)
}
