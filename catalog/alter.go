package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Schema evolution: ALTER TABLE writes schema-(N+1) with put-if-absent.
// Data files are never rewritten; readers map them to the new schema by
// field id (see docs/design.md, "Schema evolution").

// maxAlterAttempts bounds the retries of an ALTER that loses races to
// other ALTERs of the same table.
const maxAlterAttempts = 16

// AlterTable applies changes to the latest schema of db.name as one new
// schema version and publishes it with put-if-absent. The changes must obey
// EvolveSchema's structural rules and the table's compatibility mode (the
// mode in force before the change; see CheckCompatibility). When a
// concurrent ALTER publishes first, the changes are re-validated against
// the new latest schema and retried; a change that no longer applies fails
// with its reason. It returns the new schema, or the latest one unchanged
// when every change is a no-op. A new schema runs Env.AfterChange (as a
// commit does) on the table opened with it.
//
// This is the Go API for schema evolution by other components (the Kafka
// sink's --schema-evolution calls it with AddColumn changes and
// IfNotExists). Errors wrap types.ErrInvalid (a bad change),
// ErrIncompatible (the mode forbids it; a *CompatibilityError),
// types.ErrNotFound (no such table) or types.ErrConflict (too many lost
// races). A put whose outcome is unknown is resolved by reading the schema
// file back: identical bytes count as ours (so an identical ALTER by
// another process in the same millisecond also reports success — the
// schema it asked for is the one published).
func (c *Catalog) AlterTable(ctx context.Context, db, name string, changes []SchemaChange) (*types.Schema, error) {
	return c.alter(ctx, db, name, changes, false)
}

// CheckAlter is a dry run of AlterTable: it returns the schema AlterTable
// would write now, or the error it would fail with, and writes nothing.
func (c *Catalog) CheckAlter(ctx context.Context, db, name string, changes []SchemaChange) (*types.Schema, error) {
	return c.alter(ctx, db, name, changes, true)
}

func (c *Catalog) alter(ctx context.Context, db, name string, changes []SchemaChange, dryRun bool) (*types.Schema, error) {
	if err := types.ValidateIdentifier("database", db); err != nil {
		return nil, err
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return nil, err
	}
	qualified := db + "." + name
	for range maxAlterAttempts {
		all, err := c.Schemas(ctx, db, name)
		if err != nil {
			return nil, err
		}
		next, err := PlanAlter(all, changes)
		if err != nil {
			return nil, fmt.Errorf("alter table %s: %w", qualified, err)
		}
		latest := all[len(all)-1]
		if next == latest || dryRun {
			return next, nil
		}
		next.TimeMillis = c.env.Now().UnixMilli()
		data, err := manifest.EncodeObject(schemaKind, next)
		if err != nil {
			return nil, err
		}
		key := c.schemaKey(db, name, next.ID)
		_, err = c.store.PutIfAbsent(ctx, key, data)
		if err == nil || c.isOurs(ctx, key, data) {
			c.afterAlter(ctx, db, name)
			return next, nil
		}
		if !errors.Is(err, objstore.ErrPreconditionFailed) {
			return nil, fmt.Errorf("alter table %s: write schema %d: %w", qualified, next.ID, err)
		}
		// Another ALTER published schema next.ID first: re-validate against it.
	}
	return nil, fmt.Errorf("%w: alter table %s: gave up after %d attempts lost to concurrent schema changes", types.ErrConflict, qualified, maxAlterAttempts)
}

// afterAlter runs Env.AfterChange on the table with its new schema, as a
// commit does: a schema change is not a commit, and what follows the
// table's current schema (the Iceberg view, whose branches read with it)
// would otherwise lag until the next one. The schema is published
// already: a table that fails to open here is not an error of the ALTER,
// and the next commit catches up.
func (c *Catalog) afterAlter(ctx context.Context, db, name string) {
	if c.env.AfterChange == nil {
		return
	}
	if t, err := c.LoadTable(ctx, db, name); err == nil {
		t.NotifyChange(ctx)
	}
}

// isOurs reports whether the object at key holds exactly data: a put whose
// response was lost, or reported as failed after a retry, that did apply.
func (c *Catalog) isOurs(ctx context.Context, key string, data []byte) bool {
	got, _, err := c.store.Get(ctx, key)
	return err == nil && bytes.Equal(got, data)
}

// PlanAlter computes the schema version that applying changes to the
// latest of the retained versions all (ascending id) produces, and checks
// it: EvolveSchema's structural rules, CheckReadable against every
// version, and CheckCompatibility under the latest version's mode. It
// returns the latest schema itself when nothing changes. Pure: no I/O.
func PlanAlter(all []*types.Schema, changes []SchemaChange) (*types.Schema, error) {
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: no schema versions", types.ErrInvalid)
	}
	latest := all[len(all)-1]
	next, err := EvolveSchema(latest, changes)
	if err != nil || next == latest {
		return next, err
	}
	if err := CheckReadable(all, next); err != nil {
		return nil, err
	}
	mode, err := ModeOf(latest)
	if err != nil {
		return nil, err
	}
	if err := CheckCompatibility(mode, all, next); err != nil {
		return nil, err
	}
	return next, nil
}

func (c *Catalog) schemaKey(db, name string, id int64) string {
	return c.tableRoot(db, name) + schemaDir + "schema-" + strconv.FormatInt(id, 10)
}

// readSchema reads one schema version.
func (c *Catalog) readSchema(ctx context.Context, db, name string, id int64) (*types.Schema, error) {
	data, _, err := c.store.Get(ctx, c.schemaKey(db, name, id))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: schema %d of table %s.%s does not exist", types.ErrNotFound, id, db, name)
	}
	if err != nil {
		return nil, fmt.Errorf("table %s.%s: read schema %d: %w", db, name, id, err)
	}
	var s types.Schema
	if err := manifest.DecodeObject(schemaKind, data, &s); err != nil {
		return nil, fmt.Errorf("table %s.%s: schema file schema-%d: %w", db, name, id, err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("%w: table %s.%s: schema file schema-%d holds schema %d", types.ErrCorruption, db, name, id, s.ID)
	}
	return &s, nil
}

// tableEnv is the environment of one opened table: the catalog's, plus a
// schema loader for the table's versions.
func (c *Catalog) tableEnv(db, name string, current *types.Schema) table.Env {
	env := c.env
	l := &schemaLoader{c: c, db: db, name: name, cache: map[int64]*types.Schema{}}
	if current != nil {
		l.cache[current.ID] = current
	}
	env.Schemas = l
	return env
}

// schemaLoader implements table.SchemaLoader for one table. Schema
// versions are immutable, so loaded ones are cached; "latest" never is.
type schemaLoader struct {
	c        *Catalog
	db, name string

	mu    sync.Mutex
	cache map[int64]*types.Schema
}

func (l *schemaLoader) LoadSchema(ctx context.Context, id int64) (*types.Schema, error) {
	l.mu.Lock()
	s, ok := l.cache[id]
	l.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := l.c.readSchema(ctx, l.db, l.name, id)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.cache[id] = s
	l.mu.Unlock()
	return s, nil
}

// LatestSchema implements table.SchemaLoader.
func (l *schemaLoader) LatestSchema(ctx context.Context) (*types.Schema, error) {
	s, err := l.c.latestSchema(ctx, l.db, l.name)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.cache[s.ID] = s
	l.mu.Unlock()
	return s, nil
}

// CheckWriter lets a writer opened on schema w commit if w is still the
// latest schema (one Stat), or if readers of the latest schema can read
// data written with w (every mode but none checks this, whatever its
// direction: current readers must read what the writer adds).
func (l *schemaLoader) CheckWriter(ctx context.Context, w *types.Schema) error {
	_, err := l.c.store.Stat(ctx, l.c.schemaKey(l.db, l.name, w.ID+1))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check schema version: %w", err)
	}
	latest, err := l.c.latestSchema(ctx, l.db, l.name)
	if err != nil {
		return err
	}
	mode, err := ModeOf(latest)
	if err != nil {
		return err
	}
	if mode == None {
		return nil
	}
	if v := canRead(latest, w); v != nil {
		v.Mode = mode
		return fmt.Errorf("%w: the table is at schema %d; reopen the table to write with it: %w", types.ErrConflict, latest.ID, v)
	}
	return nil
}
