package table

import (
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// OptLookupMaxStaleness lets Table.Get at the latest snapshot answer from
// the local lookup index as of a snapshot known to have been the latest
// within this long (lookup_fresh.go). Unset: every such Get checks the
// store for a newer snapshot first.
const OptLookupMaxStaleness = "lookup.max-staleness"

// Bounds of lookup.max-staleness: below MinLookupStaleness the background
// refresh would poll the store almost continuously; above
// MaxLookupStaleness a "latest" read is no longer one.
const (
	MinLookupStaleness = 10 * time.Millisecond
	MaxLookupStaleness = time.Hour
)

// LookupOptions are the point lookup options.
type LookupOptions struct {
	// MaxStaleness bounds how old the snapshot behind Table.Get at the
	// latest snapshot may be (0: strict, checked in the store per Get).
	MaxStaleness time.Duration
}

func lookupOptionDocs() []OptionDoc {
	return []OptionDoc{
		{OptLookupMaxStaleness, "", "Get at the latest snapshot (Go API) may answer from the local lookup index as of a snapshot that was the latest within this long, e.g. 1s (10ms..1h; unset or 0: check the store on every Get). SQL stays strict."},
	}
}

func isLookupOption(k string) bool { return k == OptLookupMaxStaleness }

func (l *LookupOptions) set(k, v string) error {
	s := strings.TrimSpace(v)
	if d, err := time.ParseDuration(s); s == "0" || (err == nil && d == 0) {
		l.MaxStaleness = 0 // strict: 0, 0s, 0ms, …
		return nil
	}
	d, err := parseDurationAtLeast(k, v, MinLookupStaleness)
	if err != nil {
		return err
	}
	if d > MaxLookupStaleness {
		return fmt.Errorf("%w: option %s: %q is above the maximum %s (allowed: 10ms..1h, e.g. 1s)", types.ErrInvalid, k, v, MaxLookupStaleness)
	}
	l.MaxStaleness = d
	return nil
}
