package workflows

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Memo fields every ops run sets when it ends (DLQRemediationWorkflow's
// shape): the Temporal UI shows them in the run list, and the console's jobs
// page shows them per run without opening the result.
const (
	// MemoOutcome is one line saying what the run did ("created 2
	// partitions, …", "rolled back redis at step apply_next …").
	MemoOutcome = "outcome"
	// MemoCounts is a map of the run's numbers (map[string]int64).
	MemoCounts = "counts"
)

// maxOutcomeLen bounds the outcome line, so an error message cannot blow up
// the memo (every list of runs carries it).
const maxOutcomeLen = 500

// setOutcomeMemo records a run's outcome in its memo. Versioned under
// changeID: a history recorded before the workflow set its memo replays
// without the memo command. A failure to set it is only logged: the memo is
// for people, the run's result is what counts.
func setOutcomeMemo(ctx workflow.Context, changeID, outcome string, counts map[string]int64) {
	if workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) != 1 {
		return
	}
	if len(outcome) > maxOutcomeLen {
		n := maxOutcomeLen
		for n > 0 && !utf8.RuneStart(outcome[n]) {
			n--
		}
		outcome = outcome[:n] + "…"
	}
	if counts == nil {
		counts = map[string]int64{}
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoOutcome: outcome, MemoCounts: counts}); err != nil {
		workflow.GetLogger(ctx).Warn("set the outcome memo", "err", err)
	}
}

// failedOutcome is the outcome line of a run that failed: what the workflow
// was doing (its own wrapping of the error) and what the activity said,
// without the SDK's wrapping (event ids, worker identity).
func failedOutcome(err error) string {
	msg := err.Error()
	var act *temporal.ActivityError
	if errors.As(err, &act) {
		msg = strings.TrimSuffix(msg, act.Error()) + rootMessage(act)
	} else {
		msg = rootMessage(err)
	}
	return "failed: " + strings.TrimSuffix(strings.TrimSpace(msg), ":")
}

// plural is "1 partition", "2 partitions".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
