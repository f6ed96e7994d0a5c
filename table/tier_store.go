package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// coldTier lazily opens the table's cold store once (shared by the views
// of a Table that AtSchema returns).
type coldTier struct {
	mu    sync.Mutex
	store objstore.Store
}

// checkColdURI validates the option tier.cold.uri: "s3://bucket[/prefix]"
// or an absolute directory, without credentials (which would be stored in
// the schema and shown by t$options) and without a query (the storage
// class is its own option). Errors quote the URI redacted.
func checkColdURI(uri string) error {
	if err := objstore.CheckStoreURI("option "+OptTierColdURI, uri, true); err != nil {
		return err
	}
	if strings.ContainsAny(uri, "?#") {
		return fmt.Errorf("%w: option %s: %q: no '?' or '#' (set the storage class with %s)", types.ErrInvalid, OptTierColdURI, objstore.RedactURI(uri), OptTierColdStorageClass)
	}
	return nil
}

// CheckNewOptions applies the rules that only values being set now must
// follow (CREATE TABLE: old is nil; ALTER TABLE): tier.cold.uri must be
// s3://bucket[/prefix] or an absolute directory without credentials. A
// schema written before these rules keeps opening (ParseOptions), so
// that ALTER TABLE can fix it.
func CheckNewOptions(old, new map[string]string) error {
	if v, ok := new[OptTierColdURI]; ok && v != old[OptTierColdURI] {
		return checkColdURI(strings.TrimSpace(v))
	}
	return nil
}

// ColdURI returns the table's cold tier URI, for display and tests of
// whether there is one: tier.cold.uri, else the warehouse's Env.ColdURI;
// "" when there is none. Credentials a schema written before they were
// rejected may hold are redacted.
func (t *Table) ColdURI() string {
	return objstore.RedactURI(t.rawColdURI())
}

func (t *Table) rawColdURI() string {
	if u := t.opts.Lifecycle.ColdURI; u != "" {
		return u
	}
	return t.env.ColdURI
}

// coldStore returns the store of the cold tier. The key of a data file
// there is the same as in the hot store (t.Root()+f.Path).
func (t *Table) coldStore(ctx context.Context) (objstore.Store, error) {
	uri := t.rawColdURI()
	if uri == "" {
		return nil, fmt.Errorf("%w: table %s has no cold tier (set the table option %s or the warehouse's --cold-uri)", types.ErrInvalid, t.name, OptTierColdURI)
	}
	if err := t.opts.Lifecycle.coldURIErr; err != nil && t.opts.Lifecycle.ColdURI != "" {
		return nil, fmt.Errorf("table %s: cold tier: %w (fix it: ALTER TABLE %s SET ('%s' = '…'))", t.name, err, t.name, OptTierColdURI)
	}
	if t.env.OpenStore == nil {
		return nil, fmt.Errorf("%w: table %s: cold tier %s: this process cannot open other stores (Env.OpenStore is nil)", types.ErrInvalid, t.name, objstore.RedactURI(uri))
	}
	t.cold.mu.Lock()
	defer t.cold.mu.Unlock()
	if t.cold.store != nil {
		return t.cold.store, nil
	}
	if sc := t.opts.Lifecycle.ColdStorageClass; sc != "" {
		uri += "?storage-class=" + sc
	}
	st, err := t.env.OpenStore(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("table %s: open cold tier: %w", t.name, err)
	}
	t.cold.store = st
	return st, nil
}

// storeFor returns the store holding files of a tier.
func (t *Table) storeFor(ctx context.Context, tier string) (objstore.Store, error) {
	switch tier {
	case "":
		return t.store, nil
	case TierCold:
		return t.coldStore(ctx)
	}
	return nil, fmt.Errorf("%w: table %s: unknown storage tier %q", types.ErrCorruption, t.name, tier)
}

// readStore returns the store compaction reads input files from: the hot
// store, falling back to the cold tier for files that live there (same
// keys). Without a cold tier it is the hot store.
func (t *Table) readStore() objstore.Store {
	if t.ColdURI() == "" || t.env.OpenStore == nil {
		return t.store
	}
	return &fallbackStore{Store: t.store, cold: t.coldStore}
}

// fallbackStore reads a missing object from the cold tier; writes,
// listings and deletes go to the hot store.
type fallbackStore struct {
	objstore.Store
	cold func(ctx context.Context) (objstore.Store, error)
}

func (f *fallbackStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	b, info, err := f.Store.Get(ctx, key)
	if !errors.Is(err, objstore.ErrNotFound) {
		return b, info, err
	}
	c, cerr := f.cold(ctx)
	if cerr != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	return c.Get(ctx, key)
}

func (f *fallbackStore) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	b, err := f.Store.GetRange(ctx, key, off, length)
	if !errors.Is(err, objstore.ErrNotFound) {
		return b, err
	}
	c, cerr := f.cold(ctx)
	if cerr != nil {
		return nil, err
	}
	return c.GetRange(ctx, key, off, length)
}

func (f *fallbackStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	info, err := f.Store.Stat(ctx, key)
	if !errors.Is(err, objstore.ErrNotFound) {
		return info, err
	}
	c, cerr := f.cold(ctx)
	if cerr != nil {
		return info, err
	}
	return c.Stat(ctx, key)
}
