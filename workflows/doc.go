// Package workflows holds MUTT's Temporal workflow definitions: the ops plane
// (partition maintenance, retention, dead-letter remediation, SLO reports,
// secret rotation). Workflows are deterministic and do no I/O: they must not
// import the activities package, database or Redis clients, or read the clock
// or randomness except through the workflow API. Activities are called by the
// names declared here; their inputs and results are the types declared here.
package workflows
