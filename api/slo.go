package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
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

// addPythonSLOFields adds the Python MUTT's names for one SLO's facts
// (peer-management §4.2): slo_name, window_hours, actual_value (the SLI, or
// the p99 of a latency SLO), burn_rate (over the objective window), message,
// and target_seconds for a latency SLO. Its statuses were ok, warning,
// breaching and critical; MUTT's are ok, warning, critical and no_data.
func addPythonSLOFields(m map[string]any) {
	m["slo_name"] = m["name"]
	window, _ := m["objective_window"].(string)
	m["window_hours"] = windowHours(window)
	m["actual_value"] = m["sli"]
	if m["kind"] == "latency" {
		m["actual_value"] = m["p99_seconds"]
		m["target_seconds"] = m["threshold_seconds"]
	}
	m["burn_rate"] = nil
	if br, ok := m["burn_rates"].(map[string]any); ok {
		m["burn_rate"] = br[window]
	}
	msg := "Within target"
	if reasons, ok := m["reasons"].([]any); ok && len(reasons) > 0 {
		parts := make([]string, 0, len(reasons))
		for _, r := range reasons {
			if t, ok := r.(string); ok {
				parts = append(parts, t)
			}
		}
		msg = strings.Join(parts, "; ")
	} else if nd, _ := m["no_data"].(bool); nd {
		msg = "No data from Prometheus"
	}
	m["message"] = msg
}

// windowHours reads a window such as 5m, 6h or 30d in hours (0 when it is
// not one).
func windowHours(w string) float64 {
	if len(w) < 2 {
		return 0
	}
	n, err := strconv.ParseFloat(w[:len(w)-1], 64)
	if err != nil {
		return 0
	}
	switch w[len(w)-1] {
	case 'm':
		return n / 60
	case 'h':
		return n
	case 'd':
		return n * 24
	}
	return 0
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
			"generated_at": nil, "timestamp": nil, "slos": []any{}, "message": "no SLO report yet; the SLO workflow writes one every 5 minutes"})
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
		addPythonSLOFields(m)
	}
	report["slos"] = slos
	report["report_id"] = id
	report["status"] = status
	report["generated_at"] = generatedAt.UTC().Format(time.RFC3339)
	report["timestamp"] = report["generated_at"] // the Python MUTT's name
	report["color"] = sloColor(status, nil, warnBelow)
	c.JSON(http.StatusOK, report)
}
