package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func newProbeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "probe URL",
		Short: "Exit 0 if URL answers 200 (container health checks: no curl needed)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(c *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(c.Context(), 3*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
			if err != nil {
				return usageErr("URL: %v", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return unreachable(args[0], err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %d", args[0], resp.StatusCode)
			}
			return a.emit(map[string]any{"url": args[0], "status": resp.StatusCode}, func(io.Writer) error { return nil })
		}),
	}
}
