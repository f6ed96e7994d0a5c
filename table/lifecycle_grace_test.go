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

// FuzzLifecycleOptions: any value of a lifecycle option parses or fails
// with ErrInvalid naming the option, never panics, and a grace period that
// parses is at least the minimum.
func FuzzLifecycleOptions(f *testing.F) {
	for _, d := range lifecycleOptionDocs() {
		f.Add(d.Key, d.Default)
	}
	f.Add(OptOrphanGracePeriod, "1ms")
	f.Add(OptOrphanGracePeriod, "59m")
	f.Add(OptOrphanGracePeriod, "2 days")
	f.Fuzz(func(t *testing.T, k, v string) {
		if !isLifecycleOption(k) {
			return
		}
		o, err := ParseOptions(map[string]string{k: v})
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), k) {
				t.Fatalf("%s=%q: %v", k, v, err)
			}
			return
		}
		if o.Lifecycle.OrphanGracePeriod < MinOrphanGracePeriod {
			t.Fatalf("%s=%q: grace period %s below the minimum", k, v, o.Lifecycle.OrphanGracePeriod)
		}
	})
}
