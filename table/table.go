package table

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Env carries the injected components a table uses. Zero fields get
// defaults (wall clock, random UUIDs).
type Env struct {
	Now   func() time.Time
	NewID func() string
	// Schemas loads the table's other schema versions (time travel with
	// the schema a snapshot was written with, checks of writers opened on
	// an older schema). The catalog sets it per table; nil disables both.
	Schemas SchemaLoader
	// LocalDir is a directory for local state: the Pebble lookup index of
	// point lookups and changelog before-images. "" disables it (lookups
	// read data files).
	LocalDir string
	// Indexes is the process's registry of open lookup indexes (one per
	// table and branch, under LocalDir/lookup/): create it once with
	// NewLookupIndexes, share it by every Env, Close it at exit. The lookup
	// index needs both LocalDir and Indexes; nil disables it.
	Indexes *LookupIndexes
	// StoreID names the object store in the lookup index's directory name
	// (e.g. the warehouse URI), so that a restarted process finds its
	// index. "" uses the store's String(), if it has one; otherwise each
	// process builds its own index.
	StoreID string
	// OpenStore opens the object store named by a tier URI (the table
	// option tier.cold.uri, or ColdURI): "s3://bucket/prefix" or a local
	// directory. nil: only the hot store is available.
	OpenStore func(ctx context.Context, uri string) (objstore.Store, error)
	// ColdURI is the warehouse-wide cold tier used by tables that do not
	// set tier.cold.uri ("" = none).
	ColdURI string
	// Meta is the process's cache of decoded immutable metadata
	// (snapshots, manifest lists, manifests, data-file footers and bloom
	// filters): create it once with NewMetaCache and share it by every
	// Env. nil disables it for Open (every read fetches its metadata);
	// catalog.New fills it with a cache of DefaultMetaCacheBytes, and
	// NewMetaCache(0) disables it there.
	Meta *MetaCache
	// OnStall, when set, is told while a writer is stalled on a bucket
	// with num-sorted-run.stop-trigger sorted runs: when the stall
	// begins and then every StallNoticeInterval until it ends (see
	// StallInfo). It must not block. nil: stalls are silent.
	OnStall func(StallInfo)
	// OnNotice, when set, is told what a user should know that is no
	// error: a read of an older snapshot without a lease (the credentials
	// cannot write one). It must not block. nil: silent.
	OnNotice func(msg string)
	// AfterChange, when set, is called after every commit of the table
	// (writers, compaction, SQL DML, the sink, lifecycle commits, rollback;
	// any branch), after tags and branches are created or dropped, and
	// after a schema change (the catalog calls it with the table opened
	// on the new schema). It
	// runs on the caller's goroutine and cannot fail the change: the
	// Iceberg view (package icebergview) publishes through it. nil: nothing.
	AfterChange func(ctx context.Context, t *Table)
}

func (e Env) withDefaults() Env {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.NewID == nil {
		e.NewID = uuid.NewString
	}
	return e
}

// Table is an opened primary-key table. It is safe for concurrent use; each
// writer is not.
type Table struct {
	name   string
	store  objstore.Store
	root   string // key prefix of the table, ending in '/'
	schema *types.Schema
	opts   Options
	merger lsm.Merger
	meta   *manifest.Table
	env    Env
	cold   *coldTier    // the lazily opened cold store (tier_store.go)
	lk     *tableLookup // the lookup index handle, nil when disabled (lookup.go)
	hidden *hiddenCache // HiddenRows' answers per bucket (hidden_cache.go)
	metaNS *metaNS      // the store's namespace in Env.Meta, nil when disabled (metacache.go)
	// staleness overrides lookup.max-staleness when stalenessSet
	// (WithMaxStaleness, lookup_fresh.go).
	staleness    time.Duration
	stalenessSet bool

	keyIdx, partIdx, bucketIdx []int
}

// Open opens the table stored under root with the given (current) schema.
// The catalog calls it after loading the schema.
func Open(name string, store objstore.Store, root string, schema *types.Schema, env Env) (*Table, error) {
	if err := schema.Validate(); err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	opts, err := ParseOptions(schema.Options)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	merger, err := NewMergeEngine(schema)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}
	env = env.withDefaults()
	ns := newMetaNS(env, store)
	mopts := manifest.Options{Now: env.Now, NewID: env.NewID, OrphanGracePeriod: opts.Lifecycle.OrphanGracePeriod}
	if ns != nil {
		mopts.Cache = ns
	}
	var t *Table
	if env.AfterChange != nil {
		mopts.AfterCommit = func(ctx context.Context, _ string, _ *manifest.Snapshot) { env.AfterChange(ctx, t) }
	}
	meta := manifest.Open(store, root, mopts)
	t = &Table{
		name:      name,
		store:     store,
		root:      root,
		schema:    schema,
		opts:      opts,
		merger:    merger,
		meta:      meta,
		env:       env,
		lk:        newTableLookup(env, store, meta.Root()),
		metaNS:    ns,
		cold:      &coldTier{},
		hidden:    newHiddenCache(hiddenCacheBytes),
		keyIdx:    schema.KeyIndexes(),
		partIdx:   schema.PartitionIndexes(),
		bucketIdx: schema.BucketKeyIndexes(),
	}
	return t, nil
}

// afterChange runs Env.AfterChange after a change of tags or branches.
func (t *Table) afterChange(ctx context.Context) {
	if t.env.AfterChange != nil {
		t.env.AfterChange(ctx, t)
	}
}

// Name is the table's qualified name (db.table).
func (t *Table) Name() string { return t.name }

// Schema is the table's current schema.
func (t *Table) Schema() *types.Schema { return t.schema }

// Options are the parsed table options.
func (t *Table) Options() Options { return t.opts }

// Meta is the table's snapshot metadata.
func (t *Table) Meta() *manifest.Table { return t.meta }

// Root is the table's key prefix in the store.
func (t *Table) Root() string { return t.root }

// Store is the object store holding the table.
func (t *Table) Store() objstore.Store { return t.store }

// Merger is the table's merge engine.
func (t *Table) Merger() lsm.Merger { return t.merger }

// Latest returns the latest snapshot, or nil for an empty table.
func (t *Table) Latest(ctx context.Context) (*manifest.Snapshot, error) {
	return t.meta.Latest(ctx)
}

// smallFileLimit: files up to this size are fetched with one GET instead of
// ranged reads.
const smallFileLimit = 8 << 20

// openFile opens one data file for reading with the current schema, from
// the store of its tier (f.Tier). A file that is not the one f describes
// (lsm.CheckIdentity) is an error wrapping types.ErrCorruption.
func (t *Table) openFile(ctx context.Context, f manifest.DataFile) (*lsm.FileReader, error) {
	return t.openFileFor(ctx, f, false)
}

// openLookupFile is openFile for a point lookup: with Env.Meta it reuses
// the file's cached footer and bloom filters and reads only the row groups
// the key needs (ranged reads), and caches the footer of a file it opens.
func (t *Table) openLookupFile(ctx context.Context, f manifest.DataFile) (*lsm.FileReader, error) {
	return t.openFileFor(ctx, f, true)
}

func (t *Table) openFileFor(ctx context.Context, f manifest.DataFile, lookup bool) (*lsm.FileReader, error) {
	key := t.root + f.Path
	var r io.ReaderAt
	size := f.Size
	store, err := t.storeFor(ctx, f.Tier)
	if err != nil {
		return nil, fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
	}
	if lookup {
		if ft := t.cachedFooter(f); ft != nil {
			fr, err := lsm.OpenFooter(objstore.NewReaderAt(ctx, store, key, f.Size), ft, t.schema, f.SeqBase)
			if err == nil {
				err = lsm.CheckIdentity(fr, f)
			}
			if err != nil {
				return nil, fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
			}
			return fr, nil
		}
	}
	if f.Size <= smallFileLimit {
		data, _, err := store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("table %s: read data file %s: %w", t.name, f.Path, err)
		}
		if int64(len(data)) != f.Size {
			return nil, fmt.Errorf("table %s: data file %s has %d bytes, manifest says %d: %w", t.name, f.Path, len(data), f.Size, types.ErrCorruption)
		}
		r = lsm.NewBytesReader(data) // row groups decode in place
	} else {
		r = objstore.NewReaderAt(ctx, store, key, f.Size)
	}
	fr, err := lsm.OpenFile(ctx, r, size, t.schema, f.SeqBase)
	if err == nil {
		// Intact is not enough: the file must be the one f describes.
		err = lsm.CheckIdentity(fr, f)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
	}
	if lookup {
		t.cacheFooter(f, fr)
	}
	return fr, nil
}

// Resolve returns the snapshot a read should use: id > 0 selects that
// snapshot, asOfMillis > 0 the latest one committed at or before it, and
// neither the latest. It returns nil for an empty table read at latest.
func (t *Table) Resolve(ctx context.Context, id, asOfMillis int64) (*manifest.Snapshot, error) {
	switch {
	case id > 0:
		s, err := t.meta.Snapshot(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		return s, nil
	case asOfMillis != 0:
		s, err := t.meta.SnapshotAsOf(ctx, asOfMillis)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		return s, nil
	case id < 0:
		return nil, fmt.Errorf("%w: table %s: snapshot id %d must be positive", types.ErrInvalid, t.name, id)
	}
	return t.resolveLatest(ctx)
}
