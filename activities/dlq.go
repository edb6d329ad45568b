package activities

// registerDLQ is a placeholder replaced by the real activities.
func registerDLQ(r Registry, d *Deps) error { return nil }
