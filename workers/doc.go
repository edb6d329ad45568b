// Package workers wires MUTT's Temporal ops plane: the worker that runs every
// workflow and activity on the mutt-ops task queue, the schedules that start
// them (specs, and an idempotent apply that changes only what the project
// owns), and the development Temporal server `mutt dev` starts when none runs.
package workers
