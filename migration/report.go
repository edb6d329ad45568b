package migration

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is what `mutt migrate from-python` prints.
type Report struct {
	DryRun   bool         `json:"dry_run"`
	Postgres *PGReport    `json:"postgres,omitempty"`
	Redis    *RedisReport `json:"redis,omitempty"`
}

// WriteJSON prints r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints r for a person.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.DryRun {
		fmt.Fprintln(tw, "DRY RUN: nothing was changed; this is what a run would do.")
	}
	if p := r.Postgres; p != nil {
		fmt.Fprintf(tw, "PostgreSQL: %s\n", p.Detected)
		fmt.Fprintln(tw, "TABLE\tSOURCE ROWS\tMIGRATED\tSKIPPED\tSTATUS")
		for _, t := range p.Tables {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Table, t.Source, t.Target, t.Skipped, t.Status)
		}
		for _, t := range p.Tables {
			for _, n := range t.Notes {
				fmt.Fprintf(tw, "  %s: %s\n", t.Table, n)
			}
		}
		if len(p.PartitionsCreated) > 0 {
			fmt.Fprintf(tw, "  partitions created: %v\n", p.PartitionsCreated)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(tw, "  %s\n", n)
		}
		if !r.DryRun {
			fmt.Fprintf(tw, "  complete: %v\n", p.Complete)
		}
	}
	if rr := r.Redis; rr != nil {
		fmt.Fprintln(tw, "Redis:")
		fmt.Fprintln(tw, "PYTHON KEY\tACTION\tITEMS\tTO")
		for _, k := range rr.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", k.Key, k.Action, k.Items, k.To)
		}
		if len(rr.Config) > 0 {
			fmt.Fprintln(tw, "DYNAMIC CONFIG\tPYTHON VALUE\tMUTT VALUE\tWHY")
			for _, c := range rr.Config {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Key, c.Old, c.New, c.Why)
			}
		}
		for _, n := range rr.Notes {
			fmt.Fprintf(tw, "  %s\n", n)
		}
	}
	return tw.Flush()
}
