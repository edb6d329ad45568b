package activities

// registerPartitions is a placeholder replaced by the real activities.
func registerPartitions(r Registry, d *Deps) error { return nil }
