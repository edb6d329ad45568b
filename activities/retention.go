package activities

// registerRetention is a placeholder replaced by the real activities.
func registerRetention(r Registry, d *Deps) error { return nil }
