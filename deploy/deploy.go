// Package deploy embeds the deployment files a binary needs at run time:
// the Prometheus rules `mutt dev` loads into the Prometheus it starts. It
// imports nothing of MUTT.
package deploy

import "embed"

// PrometheusRules holds deploy/prometheus/rules/*.yml (the SLO recording
// rules, the burn-rate alerts and the operational alerts).
//
//go:embed prometheus/rules/*.yml
var PrometheusRules embed.FS
