package table

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// maxFuzzInput caps the inputs of this package's fuzz targets (every
// target caps its input; every decoder bounds its work by the sizes its
// input declares).
const maxFuzzInput = 64 << 10

// FuzzHistoryOptions: any value of a history option parses or fails with
// ErrInvalid naming the option, never panics.
func FuzzHistoryOptions(f *testing.F) {
	for _, d := range historyOptionDocs() {
		f.Add(d.Key, d.Default)
	}
	f.Add(OptTagCreationDelay, "10 days")
	f.Add(OptRebuildSource, "db.t")
	f.Fuzz(func(t *testing.T, k, v string) {
		if len(k)+len(v) > maxFuzzInput {
			return
		}
		if !isHistoryOption(k) {
			return
		}
		_, err := ParseOptions(map[string]string{k: v})
		if err != nil && (!errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), k)) {
			t.Fatalf("%s=%q: %v", k, v, err)
		}
	})
}
