package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/mutt-ops/mutt/workflows"
)

// RotationResult is `muttdev rotate --output json`.
type RotationResult struct {
	Target     string                 `json:"target"`
	WorkflowID string                 `json:"workflow_id"`
	RunID      string                 `json:"run_id"`
	DryRun     bool                   `json:"dry_run"`
	Status     string                 `json:"status"` // started (--no-wait), done or failed
	Steps      []workflows.SecretStep `json:"steps"`
	OldRemoved bool                   `json:"old_removed"`
	Error      string                 `json:"error,omitempty"`
}

func newRotateCmd(a *app) *cobra.Command {
	var grace string
	var dry, noWait bool
	targets := workflows.SecretTargets()
	cmd := &cobra.Command{
		Use:   "rotate TARGET",
		Short: "Rotate a credential: " + strings.Join(targets, ", "),
		Long: `rotate runs SecretRotationWorkflow for TARGET (` + strings.Join(targets, ", ") + `) on Temporal
(TEMPORAL_ADDRESS, the task queue of this instance) and waits for its result, printing each step.
The target is checked before anything is dialled. See docs/SECRET_ROTATION_PROCEDURE.md.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: targets,
		RunE: run(func(c *cobra.Command, args []string) error {
			target := args[0]
			if !slices.Contains(targets, target) {
				return usageErr("unknown rotation target %q (want one of %s)", target, strings.Join(targets, ", "))
			}
			tc, taskQueue, idPrefix, err := a.temporal(c.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			wr, err := tc.ExecuteWorkflow(c.Context(), client.StartWorkflowOptions{
				ID: idPrefix + workflows.SecretRotationWorkflowID(target), TaskQueue: taskQueue,
			}, "SecretRotationWorkflow", workflows.SecretRotationInput{Target: target, GracePeriod: grace, DryRun: dry})
			if err != nil {
				return fmt.Errorf("start rotation of %s (is one already running?): %w", target, err)
			}
			res := RotationResult{Target: target, WorkflowID: wr.GetID(), RunID: wr.GetRunID(), DryRun: dry, Status: "started",
				Steps: []workflows.SecretStep{}}
			if a.output == "text" {
				fmt.Fprintf(a.stdout, "rotation of %s started: workflow %s run %s (follow it in the Temporal UI)\n", target, res.WorkflowID, res.RunID)
			}
			if noWait {
				return a.emit(res, func(io.Writer) error { return nil })
			}
			var out workflows.SecretRotationResult
			runErr := wr.Get(c.Context(), &out)
			if out.Steps != nil {
				res.Steps = out.Steps
			}
			res.OldRemoved, res.Status = out.OldRemoved, "done"
			if runErr != nil {
				res.Status, res.Error = "failed", runErr.Error()
			}
			if err := a.emit(res, func(w io.Writer) error {
				for _, st := range res.Steps {
					fmt.Fprintf(w, "  %-20s %-8s %s\n", st.Step, st.Status, st.Detail)
				}
				if runErr == nil {
					fmt.Fprintf(w, "rotation of %s done (old credential removed: %v)\n", target, res.OldRemoved)
				}
				return nil
			}); err != nil {
				return err
			}
			if runErr != nil {
				return fmt.Errorf("rotation of %s failed: %w", target, runErr)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&grace, "grace", "", "grace period before the old credential is removed (Go duration; default per target)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "only check the preconditions; change nothing")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "start the workflow and return without waiting for its result")
	return cmd
}
