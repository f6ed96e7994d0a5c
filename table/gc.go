package table

import (
	"context"
	"time"

	"github.com/siltdb/silt/objstore"
)

// Hooks for package lifecycle (snapshot expiry, orphan cleanup, partition
// expiry, tiering, automatic tags), which works on a table from outside:
// besides Name, Root, Store, Meta, Schema, Options and ColdURI it needs
// only the table's clock, its id generator, the cold store and the
// partition time layout below. Package table never imports lifecycle.

// Now reads the table's clock (Env.Now). Lifecycle decisions (expiry
// ages, orphan cutoffs, tag times) use it, never the wall clock.
func (t *Table) Now() time.Time { return t.env.Now() }

// NewID returns a fresh unique id (Env.NewID), e.g. for a commit user.
func (t *Table) NewID() string { return t.env.NewID() }

// HasColdStore reports whether the table has a cold tier this process can
// open (a cold URI and Env.OpenStore).
func (t *Table) HasColdStore() bool { return t.ColdURI() != "" && t.env.OpenStore != nil }

// ColdStore returns the store of the cold tier, opening it on first use;
// a data file's key there is the same as in the hot store
// (Root()+f.Path). It fails with types.ErrInvalid when the table has no
// cold tier or the process cannot open other stores.
func (t *Table) ColdStore(ctx context.Context) (objstore.Store, error) { return t.coldStore(ctx) }

// JavaLayout converts a Java-style time pattern (the option
// partition.timestamp-formatter, e.g. yyyy-MM-dd) into a Go time layout.
func JavaLayout(pattern string) (string, error) { return javaLayout(pattern) }

// NotifyChange runs Env.AfterChange: lifecycle calls it once expiry has
// removed snapshots and before it deletes their files, so that views kept
// beside the table (the Iceberg view) stop naming those files first.
func (t *Table) NotifyChange(ctx context.Context) { t.afterChange(ctx) }
