package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/siltdb/silt/cache"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// resources are what one invocation opens and must close at exit: the
// disk cache, and close hooks other components register.
type resources struct {
	cache   *cache.Cache
	indexes *table.LookupIndexes // lookup indexes under --cache-dir/lookup
	meta    *table.MetaCache     // decoded immutable metadata, in memory
	opened  bool                 // openCache ran (the cache may still be nil: disabled)
	closers []func() error
}

// cacheSubdir is the object cache's directory under --cache-dir (the
// lookup indexes live beside it).
const cacheSubdir = "objects"

// onClose registers f to run when the invocation ends, after the command
// returned; hooks run in reverse order of registration.
func (a *app) onClose(f func() error) { a.res.closers = append(a.res.closers, f) }

// closeAll runs the close hooks. A failure is reported on stderr but does
// not change the command's outcome (what the command did is already done).
func (a *app) closeAll() {
	for i := len(a.res.closers) - 1; i >= 0; i-- {
		if err := a.res.closers[i](); err != nil {
			fmt.Fprintln(a.stderr, "silt: warning:", oneLine(err))
		}
	}
	a.res.closers = nil
}

// openCache opens the disk cache named by --cache-dir (env
// SILT_CACHE_DIR) with the --cache-size budget, once per invocation.
// Without --cache-dir it does nothing. A bad --cache-size is a usage
// error; a cache that cannot be opened (its directory in use by another
// process, unwritable) is a warning: the cache is only ever an
// optimisation, so the command runs without it.
func (a *app) openCache(ctx context.Context) error {
	if a.res.opened || a.g.cacheDir == "" {
		return nil
	}
	budget, err := table.ParseSize("--cache-size", a.g.cacheSize)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	a.res.opened = true
	dir, err := filepath.Abs(filepath.Join(a.g.cacheDir, cacheSubdir))
	if err != nil {
		return fmt.Errorf("%w: --cache-dir %q: %v", errUsage, a.g.cacheDir, err)
	}
	c, err := cache.Open(ctx, dir, budget, cache.Options{})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		fmt.Fprintln(a.stderr, "silt: warning: running without the disk cache:", oneLine(err))
		return nil
	}
	a.res.cache = c
	a.onClose(c.Close)
	return nil
}

// wrapCache puts the disk cache in front of store for tier ("hot" for the
// warehouse, "cold" for a cold tier). Without a cache (no --cache-dir, or
// it could not be opened, or openCache has not run) store is returned
// unchanged. Wrap it outside Retry, so a hit skips retries altogether.
func (a *app) wrapCache(store objstore.Store, tier string) objstore.Store {
	if a.res.cache == nil {
		return store
	}
	return a.res.cache.Wrap(store, tier)
}

// diskCacheStats returns the disk cache's counters, if there is a cache
// (after openWarehouse). serve's metrics read it.
func (a *app) diskCacheStats() (cache.Stats, bool) {
	if a.res.cache == nil {
		return cache.Stats{}, false
	}
	return a.res.cache.Stats(), true
}

// withLookupIndex enables the local lookup index (Pebble, under
// --cache-dir/lookup) for point lookups and changelog before-images when
// --cache-dir is set. One registry serves the whole invocation and is
// closed at exit. storeID names the warehouse in the index's directory.
func (a *app) withLookupIndex(env table.Env, storeID string) table.Env {
	if a.g.cacheDir == "" {
		return env
	}
	dir, err := filepath.Abs(a.g.cacheDir)
	if err != nil {
		fmt.Fprintln(a.stderr, "silt: warning: running without the lookup index:", oneLine(err))
		return env
	}
	if a.res.indexes == nil {
		a.res.indexes = table.NewLookupIndexes()
		a.onClose(a.res.indexes.Close)
	}
	env.LocalDir, env.Indexes, env.StoreID = dir, a.res.indexes, storeID
	return env
}

// lookupIndexStats returns the lookup indexes' counters, if enabled.
func (a *app) lookupIndexStats() (table.LookupIndexStats, bool) {
	if a.res.indexes == nil {
		return table.LookupIndexStats{}, false
	}
	return a.res.indexes.Stats(), true
}

// metaCacheBudget is the byte budget of the in-memory metadata cache
// (snapshots, manifests, data-file footers and bloom filters).
const metaCacheBudget = table.DefaultMetaCacheBytes

// withMetaCache enables the in-memory cache of decoded immutable metadata
// (table.MetaCache), one per invocation: a repeated point lookup then
// costs a freshness check and the row groups it reads. storeID names the
// warehouse (keys of different stores never meet in the cache).
func (a *app) withMetaCache(env table.Env, storeID string) table.Env {
	if a.res.meta == nil {
		a.res.meta = table.NewMetaCache(metaCacheBudget)
	}
	env.Meta = a.res.meta
	if env.StoreID == "" {
		env.StoreID = storeID
	}
	return env
}
