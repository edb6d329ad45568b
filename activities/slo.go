package activities

// registerSLO is a placeholder replaced by the real activities.
func registerSLO(r Registry, d *Deps) error { return nil }
