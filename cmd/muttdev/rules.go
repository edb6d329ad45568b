package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/mutt-ops/mutt/api"
	"github.com/mutt-ops/mutt/internal/rules"
)

// RuleDoc is one rule in the YAML file: the fields an operator edits. id
// ties it to an existing rule; without one, a rule with the same match
// (match_type, match_string, trap_oid, syslog_severity, app_name, facility) is updated, else one
// is created.
type RuleDoc struct {
	ID             int     `yaml:"id,omitempty" json:"id,omitempty"`
	MatchType      string  `yaml:"match_type" json:"match_type"`
	MatchString    *string `yaml:"match_string,omitempty" json:"match_string,omitempty"`
	TrapOID        *string `yaml:"trap_oid,omitempty" json:"trap_oid,omitempty"`
	SyslogSeverity *int    `yaml:"syslog_severity,omitempty" json:"syslog_severity,omitempty"`
	AppName        *string `yaml:"app_name,omitempty" json:"app_name,omitempty"`
	Facility       *int    `yaml:"facility,omitempty" json:"facility,omitempty"` // code 0-23
	Priority       int     `yaml:"priority" json:"priority"`
	ProdHandling   string  `yaml:"prod_handling" json:"prod_handling"`
	DevHandling    string  `yaml:"dev_handling" json:"dev_handling"`
	TeamAssignment string  `yaml:"team_assignment" json:"team_assignment"`
	IsActive       bool    `yaml:"is_active" json:"is_active"`
}

// RulesFile is the YAML document of `rules export` / `rules import`.
type RulesFile struct {
	Rules []RuleDoc `yaml:"rules" json:"rules"`
}

// RuleChange is one step of an import plan.
type RuleChange struct {
	Action string `json:"action"` // create, update, delete or unchanged
	ID     int    `json:"id,omitempty"`
	Match  string `json:"match"`
	// Fields maps each changed field to [old, new].
	Fields map[string][2]any `json:"fields,omitempty"`
}

// ImportResult is `rules import --output json`.
type ImportResult struct {
	DryRun    bool         `json:"dry_run"`
	Changes   []RuleChange `json:"changes"`
	Created   int          `json:"created"`
	Updated   int          `json:"updated"`
	Deleted   int          `json:"deleted"`
	Unchanged int          `json:"unchanged"`
}

const rulesHeader = `# MUTT alert rules, exported by muttdev rules export.
# Edit, review in git, then: muttdev rules import FILE --reason "..." [--dry-run] [--prune]
# Rules match by ascending priority then id; the first match wins (docs/API_REFERENCE.md).
`

func docOf(r api.Rule) RuleDoc {
	return RuleDoc{ID: r.ID, MatchType: r.MatchType, MatchString: r.MatchString, TrapOID: r.TrapOID,
		SyslogSeverity: r.SyslogSeverity, AppName: r.AppName, Facility: r.Facility, Priority: r.Priority, ProdHandling: r.ProdHandling, DevHandling: r.DevHandling,
		TeamAssignment: r.TeamAssignment, IsActive: r.IsActive}
}

// normal is how the API stores a rule: match type lowercase, handlings in
// their one stored spelling ("Page_and_ticket").
func (d RuleDoc) normal() RuleDoc {
	d.MatchType = strings.ToLower(strings.TrimSpace(d.MatchType))
	d.ProdHandling, _ = rules.CanonicalHandling(d.ProdHandling)
	d.DevHandling, _ = rules.CanonicalHandling(d.DevHandling)
	return d
}

func (d RuleDoc) match() string {
	s := d.MatchType + ":"
	if d.MatchString != nil {
		s += *d.MatchString
	}
	if d.TrapOID != nil {
		s += *d.TrapOID
	}
	if d.SyslogSeverity != nil {
		s += " severity " + strconv.Itoa(*d.SyslogSeverity)
	}
	if d.AppName != nil {
		s += " app " + *d.AppName
	}
	if d.Facility != nil {
		s += " facility " + strconv.Itoa(*d.Facility)
	}
	return s
}

func (d RuleDoc) key() string {
	n := d.normal()
	app := deref(n.AppName)
	if n.AppName != nil {
		app = strings.ToLower(strings.TrimSpace(*n.AppName))
	}
	return fmt.Sprintf("%s|%v|%v|%v|%v|%v", n.MatchType, deref(n.MatchString), deref(n.TrapOID), deref(n.SyslogSeverity),
		app, deref(n.Facility))
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// diffRule lists the fields that differ between have and want (both normal).
func diffRule(have, want RuleDoc) map[string][2]any {
	out := map[string][2]any{}
	hv, wv := reflect.ValueOf(have), reflect.ValueOf(want)
	for i := 0; i < hv.NumField(); i++ {
		f := hv.Type().Field(i)
		if f.Name == "ID" {
			continue
		}
		a, b := hv.Field(i).Interface(), wv.Field(i).Interface()
		if f.Type.Kind() == reflect.Pointer {
			a, b = reflectDeref(hv.Field(i)), reflectDeref(wv.Field(i))
		}
		if !reflect.DeepEqual(a, b) {
			out[strings.Split(f.Tag.Get("json"), ",")[0]] = [2]any{a, b}
		}
	}
	return out
}

func reflectDeref(v reflect.Value) any {
	if v.IsNil() {
		return nil
	}
	return v.Elem().Interface()
}

func (a *app) listRules(ctx context.Context) ([]api.Rule, error) {
	var out struct {
		Rules []api.Rule `json:"rules"`
	}
	if err := a.api().do(ctx, http.MethodGet, "/api/v2/rules", nil, &out); err != nil {
		return nil, err
	}
	return out.Rules, nil
}

func newRulesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Export and import alert rules as YAML through the admin API (for review in git)",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	var file string
	export := &cobra.Command{
		Use: "export [--file FILE]", Short: "Write every rule as YAML (stdout, or --file)", Args: cobra.NoArgs,
		RunE: run(func(c *cobra.Command, _ []string) error {
			rules, err := a.listRules(c.Context())
			if err != nil {
				return err
			}
			doc := RulesFile{Rules: make([]RuleDoc, len(rules))}
			for i, r := range rules {
				doc.Rules[i] = docOf(r)
			}
			var buf bytes.Buffer
			buf.WriteString(rulesHeader)
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(doc); err != nil {
				return err
			}
			if file != "" {
				if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil { // #nosec G306 -- a rules file for review in git, not a secret
					return fmt.Errorf("--file: %w", err)
				}
				return a.emit(map[string]any{"file": file, "rules": len(rules)}, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "exported %d rules to %s\n", len(rules), file)
					return err
				})
			}
			if a.output == "json" {
				return a.emit(doc, nil)
			}
			_, err = a.stdout.Write(buf.Bytes())
			return err
		}),
	}
	export.Flags().StringVarP(&file, "file", "f", "", "write to FILE instead of stdout")

	var dry, prune bool
	var reason string
	imp := &cobra.Command{
		Use:   "import FILE --reason TEXT [--dry-run] [--prune]",
		Short: "Make the rules match FILE (idempotent); --dry-run shows the diff only",
		Long: `import compares FILE (YAML as written by export; "-" reads stdin) with the rules the admin API
holds and creates, updates and (with --prune) deletes rules until they match. A rule with an id
updates that rule; one without is matched by (match_type, match_string, trap_oid, syslog_severity, app_name,
facility).
Running it twice changes nothing the second time. Every change is audited with --reason.`,
		Args: cobra.ExactArgs(1),
		RunE: run(func(c *cobra.Command, args []string) error {
			if reason == "" && !dry {
				return usageErr("--reason is required: say why, it goes into the audit log")
			}
			var b []byte
			var err error
			if args[0] == "-" {
				b, err = io.ReadAll(a.stdin)
			} else {
				b, err = os.ReadFile(args[0])
			}
			if err != nil {
				return usageErr("read %s: %v", args[0], err)
			}
			want, err := parseRulesFile(b)
			if err != nil {
				return usageErr("%s: %v", args[0], err)
			}
			rules, err := a.listRules(c.Context())
			if err != nil {
				return err
			}
			res, err := a.importRules(c.Context(), rules, want, reason, dry, prune)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) error {
				for _, ch := range res.Changes {
					if ch.Action == "unchanged" {
						continue
					}
					fmt.Fprintf(w, "%-7s rule %d %s\n", ch.Action, ch.ID, ch.Match)
					for f, v := range sortedFields(ch.Fields) {
						fmt.Fprintf(w, "          %s: %v -> %v\n", f, fmtAny(v[0]), fmtAny(v[1]))
					}
				}
				verb := "applied"
				if res.DryRun {
					verb = "would apply (dry run)"
				}
				_, err := fmt.Fprintf(w, "%s: %d created, %d updated, %d deleted, %d unchanged\n", verb, res.Created, res.Updated, res.Deleted, res.Unchanged)
				return err
			})
		}),
	}
	imp.Flags().BoolVar(&dry, "dry-run", false, "print the changes; change nothing")
	imp.Flags().BoolVar(&prune, "prune", false, "also delete rules that FILE does not list")
	imp.Flags().StringVar(&reason, "reason", "", "why (stored in the audit log; required unless --dry-run)")
	cmd.AddCommand(export, imp)
	return cmd
}

// parseRulesFile decodes a rules YAML document strictly (unknown fields are errors).
func parseRulesFile(b []byte) (RulesFile, error) {
	var f RulesFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if err == io.EOF {
			return f, fmt.Errorf("empty file: want a document with a rules: list")
		}
		return f, err
	}
	seen := map[int]bool{}
	for i, r := range f.Rules {
		if r.MatchType == "" {
			return f, fmt.Errorf("rules[%d].match_type: is required", i)
		}
		if r.ID < 0 {
			return f, fmt.Errorf("rules[%d].id: must be positive", i)
		}
		if r.ID > 0 && seen[r.ID] {
			return f, fmt.Errorf("rules[%d].id: %d is listed twice", i, r.ID)
		}
		seen[r.ID] = true
	}
	return f, nil
}

func (a *app) importRules(ctx context.Context, have []api.Rule, want RulesFile, reason string, dry, prune bool) (ImportResult, error) {
	res := ImportResult{DryRun: dry, Changes: []RuleChange{}}
	byID := map[int]api.Rule{}
	for _, r := range have {
		byID[r.ID] = r
	}
	claimed := map[int]bool{}
	type step struct {
		change RuleChange
		doc    RuleDoc
		ver    int
	}
	var steps []step
	for _, d := range want.Rules {
		d = d.normal()
		cur, ok := byID[d.ID]
		if d.ID == 0 || !ok || claimed[d.ID] {
			ok = false
			for _, r := range have {
				if !claimed[r.ID] && docOf(r).key() == d.key() {
					cur, ok = r, true
					break
				}
			}
		}
		if !ok {
			steps = append(steps, step{change: RuleChange{Action: "create", Match: d.match()}, doc: d})
			continue
		}
		claimed[cur.ID] = true
		diff := diffRule(docOf(cur).normal(), d)
		action := "update"
		if len(diff) == 0 {
			action, diff = "unchanged", nil
		}
		steps = append(steps, step{change: RuleChange{Action: action, ID: cur.ID, Match: d.match(), Fields: diff}, doc: d, ver: cur.Version})
	}
	if prune {
		for _, r := range have {
			if !claimed[r.ID] {
				steps = append(steps, step{change: RuleChange{Action: "delete", ID: r.ID, Match: docOf(r).match()}, ver: r.Version})
			}
		}
	}
	cl := a.api()
	for _, s := range steps {
		body := map[string]any{"match_type": s.doc.MatchType, "match_string": s.doc.MatchString, "trap_oid": s.doc.TrapOID,
			"syslog_severity": s.doc.SyslogSeverity, "app_name": s.doc.AppName, "facility": s.doc.Facility, "priority": s.doc.Priority, "prod_handling": s.doc.ProdHandling,
			"dev_handling": s.doc.DevHandling, "team_assignment": s.doc.TeamAssignment, "is_active": s.doc.IsActive, "reason": reason}
		var err error
		switch s.change.Action {
		case "create":
			res.Created++
			if !dry {
				var r api.Rule
				err = cl.do(ctx, http.MethodPost, "/api/v2/rules", body, &r)
				s.change.ID = r.ID
			}
		case "update":
			res.Updated++
			if !dry {
				body["version"] = s.ver
				err = cl.do(ctx, http.MethodPut, "/api/v2/rules/"+strconv.Itoa(s.change.ID), body, nil)
			}
		case "delete":
			res.Deleted++
			if !dry {
				err = cl.do(ctx, http.MethodDelete, "/api/v2/rules/"+strconv.Itoa(s.change.ID), map[string]any{"reason": reason}, nil)
			}
		default:
			res.Unchanged++
		}
		if err != nil {
			return res, fmt.Errorf("%s rule %d (%s): %w", s.change.Action, s.change.ID, s.change.Match, err)
		}
		res.Changes = append(res.Changes, s.change)
	}
	return res, nil
}

func sortedFields(m map[string][2]any) func(func(string, [2]any) bool) {
	return func(yield func(string, [2]any) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "(none)"
	}
	return fmt.Sprint(v)
}
