package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/mutt-ops/mutt/internal/dynconfig"
	"github.com/mutt-ops/mutt/internal/rules"
)

const (
	selectRules = `SELECT id, coalesce(match_string, ''), coalesce(trap_oid, ''), syslog_severity, match_type,
	priority, prod_handling, dev_handling, team_assignment, coalesce(app_name, ''), facility
FROM alert_rules WHERE is_active ORDER BY priority, id`
	selectDevHosts = `SELECT hostname FROM development_hosts`
	selectTeams    = `SELECT hostname, team_assignment FROM device_teams`
)

// ruleSet is what one load read from PostgreSQL.
type ruleSet struct {
	rules    []rules.Rule
	devHosts []string
	teams    map[string]string
}

// readRules reads rules, development hosts and device teams in one read-only
// repeatable-read transaction, so the three are a consistent snapshot (a rule
// change and a team change made together are seen together).
func (a *Alerter) readRules(ctx context.Context) (ruleSet, error) {
	var s ruleSet
	err := pgx.BeginTxFunc(ctx, a.o.DB, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, selectRules)
			if err != nil {
				return fmt.Errorf("query alert_rules: %w", err)
			}
			s.rules, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (rules.Rule, error) {
				var r rules.Rule
				var sev, fac *int32
				err := row.Scan(&r.ID, &r.MatchString, &r.TrapOID, &sev, &r.MatchType, &r.Priority,
					&r.ProdHandling, &r.DevHandling, &r.Team, &r.AppName, &fac)
				if sev != nil {
					v := int(*sev)
					r.Severity = &v
				}
				if fac != nil {
					v := int(*fac)
					r.Facility = &v
				}
				return r, err
			})
			if err != nil {
				return fmt.Errorf("read alert_rules: %w", err)
			}
			rows, err = tx.Query(ctx, selectDevHosts)
			if err != nil {
				return fmt.Errorf("query development_hosts: %w", err)
			}
			s.devHosts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("read development_hosts: %w", err)
			}
			rows, err = tx.Query(ctx, selectTeams)
			if err != nil {
				return fmt.Errorf("query device_teams: %w", err)
			}
			s.teams = map[string]string{}
			var host, team string
			_, err = pgx.ForEachRow(rows, []any{&host, &team}, func() error {
				s.teams[host] = team
				return nil
			})
			if err != nil {
				return fmt.Errorf("read device_teams: %w", err)
			}
			return nil
		})
	return s, err
}

// reload loads and compiles the rules and swaps them in. On failure the
// previous engine stays in force.
func (a *Alerter) reload(ctx context.Context, why string) error {
	start := time.Now()
	a.m.reloads.Inc()
	s, err := a.readRules(ctx)
	if err != nil {
		a.m.reloadFailures.Inc()
		return fmt.Errorf("load rules: %w", err)
	}
	eng, errs := rules.Compile(s.rules, s.devHosts, s.teams)
	for _, err := range errs {
		var re *rules.RuleError
		if errors.As(err, &re) {
			a.log.Warn("rule skipped: cannot be compiled", "rule_id", re.ID, "err", re.Err)
		} else {
			a.log.Warn("rule skipped: cannot be compiled", "err", err)
		}
	}
	a.engine.Store(eng)
	a.m.reloadLatency.Observe(time.Since(start).Seconds())
	a.m.rulesCount.Set(float64(eng.Len()))
	a.m.devHostsCount.Set(float64(len(s.devHosts)))
	a.m.teamsCount.Set(float64(len(s.teams)))
	a.m.invalidRules.Set(float64(len(errs)))
	a.log.Debug("rules loaded", "why", why, "rules", eng.Len(), "invalid", len(errs),
		"dev_hosts", len(s.devHosts), "teams", len(s.teams))
	return nil
}

// loadInitial loads the rules, retrying with backoff until it works or ctx
// ends: without rules every event would count as unmatched.
func (a *Alerter) loadInitial(ctx context.Context) error {
	var b backoff
	for {
		err := a.reload(ctx, "start")
		if err == nil {
			return nil
		}
		a.log.Error("initial rule load failed, retrying", "err", err)
		if !b.sleep(ctx) {
			return ctx.Err()
		}
	}
}

// reloadCheckEvery bounds how long a changed cache_reload_interval takes to
// apply: the periodic reload is re-planned at least this often.
const reloadCheckEvery = time.Second

// watchRules reloads on every notice on the rules channel (several notices
// that arrive together cause one reload) and every cache_reload_interval
// after the last reload.
func (a *Alerter) watchRules(ctx context.Context, sub *redis.PubSub) {
	ch := sub.Channel() // go-redis re-subscribes after a connection loss
	last := time.Now()
	timer := time.NewTimer(a.untilReload(last))
	defer timer.Stop()
	for {
		why := "interval"
		select {
		case <-ctx.Done():
			return
		case <-ch:
			why = "notice"
		drain:
			for {
				select {
				case <-ch:
				default:
					break drain
				}
			}
		case <-timer.C:
			// The interval may have changed since the timer was armed
			// (lowered from 300 s to 5 s, say): re-plan with the current one.
			if d := a.untilReload(last); d > 0 {
				timer.Reset(d)
				continue
			}
		}
		if err := a.reload(ctx, why); err != nil && ctx.Err() == nil {
			a.log.Error("rule reload failed, keeping the previous rules", "why", why, "err", err)
		}
		last = time.Now()
		timer.Reset(a.untilReload(last))
	}
}

// untilReload is how long to wait before the periodic reload after one at
// last is due, capped at reloadCheckEvery so that a changed
// cache_reload_interval is noticed.
func (a *Alerter) untilReload(last time.Time) time.Duration {
	return min(time.Until(last.Add(a.o.Dyn.Duration(dynconfig.CacheReloadInterval))), reloadCheckEvery)
}
