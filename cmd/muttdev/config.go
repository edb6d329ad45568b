package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mutt-ops/mutt/api"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Read and change dynamic config through the admin API (every change audited)",
		Long: `Dynamic config lives in Redis and applies to every service within a second. muttdev reads and
changes it through the admin API, so each change writes a config_audit_log row (who, old, new, reason).`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	var reason string
	needReason := func(c *cobra.Command) {
		c.Flags().StringVar(&reason, "reason", "", "why (stored in the audit log; required)")
	}
	checkReason := func() error {
		if reason == "" {
			return usageErr("--reason is required: say why, it goes into the audit log")
		}
		return nil
	}
	list := &cobra.Command{
		Use: "list", Short: "Every key: value, default, source", Args: cobra.NoArgs,
		RunE: run(func(c *cobra.Command, _ []string) error {
			var out struct {
				Config []api.ConfigItem `json:"config"`
				Total  int              `json:"total"`
			}
			if err := a.api().do(c.Context(), http.MethodGet, "/api/v2/config", nil, &out); err != nil {
				return err
			}
			return a.emit(out, func(w io.Writer) error { return configTable(w, out.Config...) })
		}),
	}
	get := &cobra.Command{
		Use: "get KEY", Short: "One key", Args: cobra.ExactArgs(1),
		RunE: run(func(c *cobra.Command, args []string) error {
			var it api.ConfigItem
			if err := a.api().do(c.Context(), http.MethodGet, "/api/v2/config/"+url.PathEscape(args[0]), nil, &it); err != nil {
				return err
			}
			return a.emit(it, func(w io.Writer) error { return configTable(w, it) })
		}),
	}
	set := &cobra.Command{
		Use: "set KEY VALUE --reason TEXT", Short: "Change a key (validated by the API, applied within a second)",
		Args: cobra.ExactArgs(2),
		RunE: run(func(c *cobra.Command, args []string) error {
			if err := checkReason(); err != nil {
				return err
			}
			var it api.ConfigItem
			body := map[string]any{"value": args[1], "reason": reason}
			if err := a.api().do(c.Context(), http.MethodPut, "/api/v2/config/"+url.PathEscape(args[0]), body, &it); err != nil {
				return err
			}
			return a.emit(it, func(w io.Writer) error { return configTable(w, it) })
		}),
	}
	needReason(set)
	del := &cobra.Command{
		Use: "delete KEY --reason TEXT", Short: "Reset a key to its default", Args: cobra.ExactArgs(1),
		RunE: run(func(c *cobra.Command, args []string) error {
			if err := checkReason(); err != nil {
				return err
			}
			var it api.ConfigItem
			body := map[string]any{"reason": reason}
			if err := a.api().do(c.Context(), http.MethodDelete, "/api/v2/config/"+url.PathEscape(args[0]), body, &it); err != nil {
				return err
			}
			return a.emit(it, func(w io.Writer) error { return configTable(w, it) })
		}),
	}
	needReason(del)
	cmd.AddCommand(list, get, set, del)
	return cmd
}

func configTable(w io.Writer, items ...api.ConfigItem) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tDEFAULT\tSOURCE")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", it.Key, it.RawValue, it.Default, it.Source)
	}
	return tw.Flush()
}
