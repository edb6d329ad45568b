// Package api is MUTT's management plane: the gin server of `mutt api` with
// REST routes under /api/v1 and /api/v2 (rules, development hosts, device
// teams, dynamic config, config and event audit, SLO status, metrics,
// version), API-key auth with admin and read-only roles, version negotiation
// and deprecation headers, and the embedded web UI. Every write is audited in
// config_audit_log in the same transaction as the change.
package api
