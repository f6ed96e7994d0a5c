package table

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/types"
)

// TestOrphanGracePeriodFloor: grace periods below the minimum are
// rejected with a message naming the minimum.
func TestOrphanGracePeriodFloor(t *testing.T) {
	for _, v := range []string{"1ms", "59m", "30s"} {
		_, err := ParseOptions(map[string]string{OptOrphanGracePeriod: v})
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "'"+v+"' is below the minimum 1h") {
			t.Fatalf("%s=%s: %v", OptOrphanGracePeriod, v, err)
		}
	}
	if MinOrphanGracePeriod != time.Hour {
		t.Fatalf("the error text names 1h but MinOrphanGracePeriod is %s", MinOrphanGracePeriod)
	}
	for _, v := range []string{"1h", "90m", "1d"} {
		if _, err := ParseOptions(map[string]string{OptOrphanGracePeriod: v}); err != nil {
			t.Fatalf("%s=%s: %v", OptOrphanGracePeriod, v, err)
		}
	}
}
