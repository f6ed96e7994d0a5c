package table

// HistoryOptions are the changelog producer and automatic tag options.
// TODO(history): filled in by the history work (issue 4).
type HistoryOptions struct{}

func historyOptionDocs() []OptionDoc { return nil }

func isHistoryOption(k string) bool { return false }

func (h *HistoryOptions) set(k, v string) error { return nil }

func (h *HistoryOptions) finish() error { return nil }
