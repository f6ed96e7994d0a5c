package table

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// FuzzHistoryOptions: any value of a history option parses or fails with
// ErrInvalid naming the option, never panics.
func FuzzHistoryOptions(f *testing.F) {
	for _, d := range historyOptionDocs() {
		f.Add(d.Key, d.Default)
	}
	f.Add(OptTagCreationDelay, "10 days")
	f.Add(OptRebuildSource, "db.t")
	f.Fuzz(func(t *testing.T, k, v string) {
		if !isHistoryOption(k) {
			return
		}
		_, err := ParseOptions(map[string]string{k: v})
		if err != nil && (!errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), k)) {
			t.Fatalf("%s=%q: %v", k, v, err)
		}
	})
}
