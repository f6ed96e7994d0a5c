package table

// LifecycleOptions are the lifecycle policy options of a table (snapshot
// and partition expiry, tiering, orphan cleanup).
// TODO(lifecycle): filled in by the lifecycle work (issue 6).
type LifecycleOptions struct{}

func lifecycleOptionDocs() []OptionDoc { return nil }

func isLifecycleOption(k string) bool { return false }

func (l *LifecycleOptions) set(k, v string) error { return nil }

func (l *LifecycleOptions) finish() error { return nil }
