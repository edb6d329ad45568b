package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
)

// DevHost is a development_hosts row.
type DevHost struct {
	Hostname  string    `json:"hostname"`
	CreatedAt time.Time `json:"created_at"`
}

// TeamMapping is a device_teams row.
type TeamMapping struct {
	Hostname       string    `json:"hostname"`
	TeamAssignment string    `json:"team_assignment"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// The Python MUTT's answers to dev-host and team writes (peer-management
// §2.3 #19-24), kept in both versions beside the stored row.
const (
	msgDevHostAdded   = "Dev host added successfully"
	msgDevHostDeleted = "Dev host deleted successfully"
	msgTeamAdded      = "Team mapping added successfully"
	msgTeamUpdated    = "Team mapping updated successfully"
	msgTeamDeleted    = "Team mapping deleted successfully"
)

// devHostAnswer and teamAnswer are a written row plus the Python MUTT's message.
type devHostAnswer struct {
	Message string `json:"message"`
	DevHost
}

type teamAnswer struct {
	Message string `json:"message"`
	TeamMapping
}

type hostInput struct {
	Hostname       *string `json:"hostname"`
	TeamAssignment *string `json:"team_assignment"`
	reasonField
	readOnlyFields
}

func (s *Server) registerHosts(g, admin *gin.RouterGroup, _ string) {
	g.GET("/dev-hosts", s.listDevHosts)
	admin.POST("/dev-hosts", s.createDevHost)
	g.GET("/dev-hosts/:hostname", s.getDevHost)
	admin.DELETE("/dev-hosts/:hostname", s.deleteDevHost)
	g.GET("/teams", s.listTeams)
	admin.POST("/teams", s.createTeam)
	g.GET("/teams/:hostname", s.getTeam)
	admin.PUT("/teams/:hostname", s.updateTeam)
	admin.DELETE("/teams/:hostname", s.deleteTeam)
}

// validHostname lower-cases a hostname (the alerter compares hostnames
// case-insensitively, and a unique index on lower(hostname) keeps one row per
// host) and refuses what can never be a hostname.
func validHostname(h *string) (string, error) {
	if h == nil || strings.TrimSpace(*h) == "" {
		return "", &fieldErr{"hostname", "is required"}
	}
	v := strings.TrimSpace(*h)
	if len(v) > maxLongText {
		return "", &fieldErr{"hostname", fmt.Sprintf("must be at most %d characters", maxLongText)}
	}
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) >= 0 {
		return "", &fieldErr{"hostname", "must not contain spaces, control characters or '/'"}
	}
	if v == "." || v == ".." { // clients rewrite /dev-hosts/.. so it could never be deleted
		return "", &fieldErr{"hostname", `must not be "." or ".."`}
	}
	return strings.ToLower(v), nil
}

// pathHostname is the {hostname} of a path, lower-cased: queries compare
// lower(hostname), so any case names the host. Any stored hostname may be
// named (older rows need not pass validHostname), but PostgreSQL holds no
// invalid UTF-8 or NUL, so such a name is a 400 rather than a failing query.
func pathHostname(c *gin.Context) (string, bool) {
	h := c.Param("hostname")
	if !utf8.ValidString(h) || strings.ContainsRune(h, 0) {
		abort(c, http.StatusBadRequest, errInvalidField, "hostname: must be UTF-8 text without NUL characters")
		return "", false
	}
	return strings.ToLower(h), true
}

const devHostColumns = `hostname, created_at`

func scanDevHost(r ruleRow) (DevHost, error) {
	var h DevHost
	err := r.Scan(&h.Hostname, &h.CreatedAt)
	h.CreatedAt = h.CreatedAt.UTC()
	return h, err
}

func (s *Server) listDevHosts(c *gin.Context) {
	rows, err := s.o.DB.Query(c, `SELECT `+devHostColumns+` FROM development_hosts ORDER BY hostname`)
	if err != nil {
		s.dbFailure(c, "list dev hosts", err)
		return
	}
	hosts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DevHost, error) { return scanDevHost(r) })
	if err != nil {
		s.dbFailure(c, "list dev hosts", err)
		return
	}
	if hosts == nil {
		hosts = []DevHost{}
	}
	c.JSON(http.StatusOK, gin.H{"hosts": hosts, "total": len(hosts)})
}

func (s *Server) getDevHost(c *gin.Context) {
	host, ok := pathHostname(c)
	if !ok {
		return
	}
	h, err := scanDevHost(s.o.DB.QueryRow(c, `SELECT `+devHostColumns+` FROM development_hosts WHERE lower(hostname) = lower($1)`, host))
	if errors.Is(err, pgx.ErrNoRows) {
		abort(c, http.StatusNotFound, errNotFound, fmt.Sprintf("dev host %q not found", host))
		return
	}
	if err != nil {
		s.dbFailure(c, "get dev host", err)
		return
	}
	c.JSON(http.StatusOK, h)
}

func (s *Server) getTeam(c *gin.Context) {
	host, ok := pathHostname(c)
	if !ok {
		return
	}
	t, err := scanTeam(s.o.DB.QueryRow(c, `SELECT `+teamColumns+` FROM device_teams WHERE lower(hostname) = lower($1)`, host))
	if errors.Is(err, pgx.ErrNoRows) {
		abort(c, http.StatusNotFound, errNotFound, fmt.Sprintf("host %q has no team mapping", host))
		return
	}
	if err != nil {
		s.dbFailure(c, "get team mapping", err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// hostChange is one row written by a hostWrite: the answer to send and
// what the audit log keeps of it.
type hostChange struct {
	answer   any
	op       string // CREATE, UPDATE or DELETE
	old, new any
}

// hostWrite runs fn in a transaction, records its change of host's row of
// table in the audit log in the same transaction, and answers: 409/404 from
// fn's writeRefused, 503 otherwise; publishes a rules update after commit
// because the alerter caches dev hosts and teams with the rules.
func (s *Server) hostWrite(c *gin.Context, what, table, host, reason string, status int, fn func(tx pgx.Tx) (hostChange, error)) {
	var out any
	err := pgx.BeginFunc(c, s.o.DB, func(tx pgx.Tx) error {
		ch, err := fn(tx)
		if err != nil {
			return err
		}
		out = ch.answer
		return writeConfigAudit(c, tx, AuditEntry{ChangedBy: caller(c), Operation: ch.op, TableName: table,
			RecordID: host, Reason: reason, CorrelationID: correlationID(c), Old: ch.old, New: ch.new})
	})
	if s.answerWriteError(c, what, err) {
		return
	}
	publishRulesUpdate(context.WithoutCancel(c), s.o.Redis, s.o.Keys)
	c.JSON(status, out)
}

// rowErr is the error of a write's single-row query: no row is refused,
// anything else is wrapped with what the query did.
func rowErr(err error, refused *writeRefused, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return refused
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// deleteTarget is the hostname and reason of a DELETE, or false once the
// request has been answered.
func deleteTarget(c *gin.Context) (host, reason string, ok bool) {
	if host, ok = pathHostname(c); !ok {
		return "", "", false
	}
	reason, ok = deleteReason(c)
	return host, reason, ok
}

// createHost reads a create request's body and hostname, or answers it.
func createHost(c *gin.Context) (hostInput, string, bool) {
	var in hostInput
	if !decodeResourceBody(c, &in) {
		return in, "", false
	}
	host, err := validHostname(in.Hostname)
	if err != nil {
		answerInvalid(c, err)
		return in, "", false
	}
	return in, host, true
}

func (s *Server) createDevHost(c *gin.Context) {
	in, host, ok := createHost(c)
	if !ok {
		return
	}
	s.hostWrite(c, "add dev host", tableDev, host, changeReason(c, in.Reason), http.StatusCreated, func(tx pgx.Tx) (hostChange, error) {
		h, err := scanDevHost(tx.QueryRow(c, `INSERT INTO development_hosts (hostname) VALUES ($1) ON CONFLICT DO NOTHING
            RETURNING `+devHostColumns, host))
		if err := rowErr(err, &writeRefused{http.StatusConflict, errConflict, fmt.Sprintf("dev host %q already exists", host)}, "insert dev host"); err != nil {
			return hostChange{}, err
		}
		return hostChange{answer: devHostAnswer{msgDevHostAdded, h}, op: "CREATE", new: h}, nil
	})
}

func (s *Server) deleteDevHost(c *gin.Context) {
	host, reason, ok := deleteTarget(c)
	if !ok {
		return
	}
	s.hostWrite(c, "delete dev host", tableDev, host, reason, http.StatusOK, func(tx pgx.Tx) (hostChange, error) {
		h, err := scanDevHost(tx.QueryRow(c, `DELETE FROM development_hosts WHERE lower(hostname) = lower($1) RETURNING `+devHostColumns, host))
		if err := rowErr(err, &writeRefused{http.StatusNotFound, errNotFound, fmt.Sprintf("dev host %q not found", host)}, "delete dev host"); err != nil {
			return hostChange{}, err
		}
		return hostChange{answer: gin.H{"message": msgDevHostDeleted, "hostname": host}, op: "DELETE", old: h}, nil
	})
}

const teamColumns = `hostname, team_assignment, created_at, updated_at`

func scanTeam(r ruleRow) (TeamMapping, error) {
	var t TeamMapping
	err := r.Scan(&t.Hostname, &t.TeamAssignment, &t.CreatedAt, &t.UpdatedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

func (s *Server) listTeams(c *gin.Context) {
	rows, err := s.o.DB.Query(c, `SELECT `+teamColumns+` FROM device_teams ORDER BY hostname`)
	if err != nil {
		s.dbFailure(c, "list teams", err)
		return
	}
	teams, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TeamMapping, error) { return scanTeam(r) })
	if err != nil {
		s.dbFailure(c, "list teams", err)
		return
	}
	if teams == nil {
		teams = []TeamMapping{}
	}
	c.JSON(http.StatusOK, gin.H{"teams": teams, "total": len(teams)})
}

func validTeam(v *string) (string, error) {
	t, err := cleanText("team_assignment", v, true, maxShortText)
	if err != nil {
		return "", err
	}
	return *t, nil
}

func (s *Server) createTeam(c *gin.Context) {
	in, host, ok := createHost(c)
	if !ok {
		return
	}
	team, err := validTeam(in.TeamAssignment)
	if err != nil {
		answerInvalid(c, err)
		return
	}
	s.hostWrite(c, "add team mapping", tableTeams, host, changeReason(c, in.Reason), http.StatusCreated, func(tx pgx.Tx) (hostChange, error) {
		t, err := scanTeam(tx.QueryRow(c, `INSERT INTO device_teams (hostname, team_assignment) VALUES ($1, $2)
            ON CONFLICT DO NOTHING RETURNING `+teamColumns, host, team))
		if err := rowErr(err, &writeRefused{http.StatusConflict, errConflict, fmt.Sprintf("host %q already has a team", host)}, "insert team mapping"); err != nil {
			return hostChange{}, err
		}
		return hostChange{answer: teamAnswer{msgTeamAdded, t}, op: "CREATE", new: t}, nil
	})
}

// noTeam refuses a write to a host without a team mapping.
func noTeam(host string) *writeRefused {
	return &writeRefused{http.StatusNotFound, errNotFound, fmt.Sprintf("host %q has no team mapping", host)}
}

func (s *Server) updateTeam(c *gin.Context) {
	host, ok := pathHostname(c)
	if !ok {
		return
	}
	var in hostInput
	if !decodeResourceBody(c, &in) {
		return
	}
	team, err := validTeam(in.TeamAssignment)
	if err != nil {
		answerInvalid(c, err)
		return
	}
	s.hostWrite(c, "update team mapping", tableTeams, host, changeReason(c, in.Reason), http.StatusOK, func(tx pgx.Tx) (hostChange, error) {
		old, err := scanTeam(tx.QueryRow(c, `SELECT `+teamColumns+` FROM device_teams WHERE lower(hostname) = lower($1) FOR UPDATE`, host))
		if err := rowErr(err, noTeam(host), "lock team mapping"); err != nil {
			return hostChange{}, err
		}
		t, err := scanTeam(tx.QueryRow(c, `UPDATE device_teams SET team_assignment = $2, updated_at = now()
            WHERE lower(hostname) = lower($1) RETURNING `+teamColumns, host, team))
		if err != nil {
			return hostChange{}, fmt.Errorf("update team mapping: %w", err)
		}
		return hostChange{answer: teamAnswer{msgTeamUpdated, t}, op: "UPDATE", old: old, new: t}, nil
	})
}

func (s *Server) deleteTeam(c *gin.Context) {
	host, reason, ok := deleteTarget(c)
	if !ok {
		return
	}
	s.hostWrite(c, "delete team mapping", tableTeams, host, reason, http.StatusOK, func(tx pgx.Tx) (hostChange, error) {
		old, err := scanTeam(tx.QueryRow(c, `DELETE FROM device_teams WHERE lower(hostname) = lower($1) RETURNING `+teamColumns, host))
		if err := rowErr(err, noTeam(host), "delete team mapping"); err != nil {
			return hostChange{}, err
		}
		return hostChange{answer: gin.H{"message": msgTeamDeleted, "hostname": host}, op: "DELETE", old: old}, nil
	})
}
