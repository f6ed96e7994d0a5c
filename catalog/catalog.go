// Package catalog manages silt's warehouse: databases and tables as folders
// under a warehouse root, and each table's immutable, numbered schema files.
//
//	<root><db>.db/database.json            database marker
//	<root><db>.db/<table>/schema/schema-N  schema versions (table exists iff schema-0 does)
//	<root><db>.db/<table>/...              snapshots, manifests, data (see manifest)
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// DefaultDatabase is the database unqualified table names refer to. It is
// created on first use.
const DefaultDatabase = "default"

const (
	dbSuffix    = ".db"
	dbMarker    = "database.json"
	schemaKind  = "schema"
	schemaDir   = "schema/"
	schemaFile0 = "schema/schema-0"
)

// Catalog is a warehouse: a store and a root prefix inside it.
type Catalog struct {
	store objstore.Store
	root  string
	env   table.Env
}

// New returns the catalog of the warehouse under root ("" or ending in '/').
// Without env.Meta its tables share a metadata cache of
// table.DefaultMetaCacheBytes, as silt's commands do; pass
// table.NewMetaCache(0) to read every piece of metadata from the store.
func New(store objstore.Store, root string, env table.Env) *Catalog {
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Meta == nil {
		env.Meta = table.NewMetaCache(table.DefaultMetaCacheBytes)
	}
	return &Catalog{store: store, root: root, env: env}
}

// Store returns the warehouse's object store.
func (c *Catalog) Store() objstore.Store { return c.store }

func (c *Catalog) dbPrefix(db string) string { return c.root + db + dbSuffix + "/" }

func (c *Catalog) tableRoot(db, t string) string { return c.dbPrefix(db) + t + "/" }

type dbInfo struct {
	Name          string `json:"name"`
	CreatedMillis int64  `json:"createdMillis"`
}

// CreateDatabase creates a database.
func (c *Catalog) CreateDatabase(ctx context.Context, name string, ifNotExists bool) error {
	if err := types.ValidateIdentifier("database", name); err != nil {
		return err
	}
	data, err := manifest.EncodeObject("database", dbInfo{Name: name, CreatedMillis: c.env.Now().UnixMilli()})
	if err != nil {
		return err
	}
	_, err = c.store.PutIfAbsent(ctx, c.dbPrefix(name)+dbMarker, data)
	if errors.Is(err, objstore.ErrPreconditionFailed) {
		if ifNotExists {
			return nil
		}
		return fmt.Errorf("%w: database %s already exists", types.ErrConflict, name)
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DatabaseExists reports whether the database exists.
func (c *Catalog) DatabaseExists(ctx context.Context, name string) (bool, error) {
	if err := types.ValidateIdentifier("database", name); err != nil {
		return false, err
	}
	_, err := c.store.Stat(ctx, c.dbPrefix(name)+dbMarker)
	if errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("database %s: %w", name, err)
	}
	return true, nil
}

func (c *Catalog) requireDatabase(ctx context.Context, name string) error {
	ok, err := c.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		if name == DefaultDatabase {
			return c.CreateDatabase(ctx, name, true)
		}
		return fmt.Errorf("%w: database %s does not exist", types.ErrNotFound, name)
	}
	return nil
}

// DropDatabase drops a database. A database with tables is dropped only with
// cascade, which drops the tables and all their data.
func (c *Catalog) DropDatabase(ctx context.Context, name string, ifExists, cascade bool) error {
	ok, err := c.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		if ifExists {
			return nil
		}
		return fmt.Errorf("%w: database %s does not exist", types.ErrNotFound, name)
	}
	tables, err := c.ListTables(ctx, name)
	if err != nil {
		return err
	}
	if len(tables) > 0 && !cascade {
		return fmt.Errorf("%w: database %s is not empty (%d tables); use DROP DATABASE %s CASCADE", types.ErrConflict, name, len(tables), name)
	}
	for _, t := range tables {
		if err := c.DropTable(ctx, name, t, true); err != nil {
			return err
		}
	}
	return c.deletePrefix(ctx, c.dbPrefix(name))
}

func (c *Catalog) deletePrefix(ctx context.Context, prefix string) error {
	objs, err := c.store.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	// Delete the schema files last, so an interrupted drop leaves a table
	// that still exists and can be dropped again.
	sort.SliceStable(objs, func(i, j int) bool {
		return !strings.Contains(objs[i].Key, "/"+schemaDir) && strings.Contains(objs[j].Key, "/"+schemaDir)
	})
	for _, o := range objs {
		if err := c.store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	return nil
}

// ListDatabases lists the databases in name order.
func (c *Catalog) ListDatabases(ctx context.Context) ([]string, error) {
	dirs, err := c.children(ctx, c.root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dirs {
		if name, ok := strings.CutSuffix(d, dbSuffix); ok && types.ValidateIdentifier("database", name) == nil {
			if _, err := c.store.Stat(ctx, c.dbPrefix(name)+dbMarker); err == nil {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ListTables lists the tables of a database in name order.
func (c *Catalog) ListTables(ctx context.Context, db string) ([]string, error) {
	if err := c.requireDatabase(ctx, db); err != nil {
		return nil, err
	}
	dirs, err := c.children(ctx, c.dbPrefix(db))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dirs {
		if types.ValidateIdentifier("table", d) != nil {
			continue
		}
		if _, err := c.store.Stat(ctx, c.tableRoot(db, d)+schemaFile0); err == nil {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out, nil
}

// children returns the immediate sub-folders below prefix.
func (c *Catalog) children(ctx context.Context, prefix string) ([]string, error) {
	dirs, err := c.store.ListDirs(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return dirs, nil
}

// CreateTable creates a table from a schema whose field ids and schema id
// are assigned here (ids 0..n-1, schema 0). Primary-key columns become NOT
// NULL. Options are validated.
func (c *Catalog) CreateTable(ctx context.Context, db, name string, s *types.Schema, ifNotExists bool) (*table.Table, error) {
	if err := types.ValidateIdentifier("database", db); err != nil {
		return nil, err
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return nil, err
	}
	if err := c.requireDatabase(ctx, db); err != nil {
		return nil, err
	}
	ns := *s
	ns.ID = 0
	ns.Fields = append([]types.Field(nil), s.Fields...)
	for i := range ns.Fields {
		ns.Fields[i].ID = i
	}
	ns.HighestFieldID = len(ns.Fields) - 1
	for i := range ns.Fields {
		assignNestedIDs(&ns, &ns.Fields[i])
	}
	for _, k := range ns.PrimaryKeys {
		if i := ns.FieldIndex(k); i >= 0 {
			ns.Fields[i].NotNull = true
		}
	}
	ns.PrimaryKeys = canonicalNames(ns.PrimaryKeys, ns.Fields)
	ns.PartitionKeys = canonicalNames(ns.PartitionKeys, ns.Fields)
	ns.TimeMillis = c.env.Now().UnixMilli()
	ns.Change = "CREATE TABLE"
	if ns.Options == nil {
		ns.Options = map[string]string{}
	}
	qualified := db + "." + name
	if err := table.CheckOptions(&ns); err != nil {
		return nil, err
	}
	// Opening validates schema, options and merge engine before anything
	// is written.
	if _, err := table.Open(qualified, c.store, c.tableRoot(db, name), &ns, c.env); err != nil {
		return nil, err
	}
	if err := table.CheckNewOptions(nil, ns.Options); err != nil {
		return nil, err
	}
	if _, err := ModeOf(&ns); err != nil {
		return nil, err
	}
	data, err := manifest.EncodeObject(schemaKind, &ns)
	if err != nil {
		return nil, err
	}
	_, err = c.store.PutIfAbsent(ctx, c.tableRoot(db, name)+schemaFile0, data)
	if errors.Is(err, objstore.ErrPreconditionFailed) {
		if ifNotExists {
			return c.LoadTable(ctx, db, name)
		}
		return nil, fmt.Errorf("%w: table %s already exists", types.ErrConflict, qualified)
	}
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", qualified, err)
	}
	return table.Open(qualified, c.store, c.tableRoot(db, name), &ns, c.tableEnv(db, name, &ns))
}

func canonicalNames(names []string, fields []types.Field) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		for _, f := range fields {
			if strings.EqualFold(f.Name, n) {
				out[i] = f.Name
			}
		}
	}
	return out
}

// LoadTable opens a table with its latest schema.
func (c *Catalog) LoadTable(ctx context.Context, db, name string) (*table.Table, error) {
	if err := types.ValidateIdentifier("database", db); err != nil {
		return nil, err
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return nil, err
	}
	qualified := db + "." + name
	s, err := c.latestSchema(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return table.Open(qualified, c.store, c.tableRoot(db, name), s, c.tableEnv(db, name, s))
}

// Schemas returns every schema version of a table in id order.
func (c *Catalog) Schemas(ctx context.Context, db, name string) ([]*types.Schema, error) {
	ids, err := c.schemaIDs(ctx, db, name)
	if err != nil {
		return nil, err
	}
	out := make([]*types.Schema, 0, len(ids))
	for _, id := range ids {
		s, err := c.readSchema(ctx, db, name, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// schemaIDs lists the schema versions of a table in ascending order.
func (c *Catalog) schemaIDs(ctx context.Context, db, name string) ([]int64, error) {
	root := c.tableRoot(db, name)
	objs, err := c.store.List(ctx, root+schemaDir)
	if err != nil {
		return nil, fmt.Errorf("table %s.%s: list schemas: %w", db, name, err)
	}
	var ids []int64
	for _, o := range objs {
		idStr, ok := strings.CutPrefix(o.Key, root+schemaDir+"schema-")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || id < 0 || strconv.FormatInt(id, 10) != idStr {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: table %s.%s does not exist", types.ErrNotFound, db, name)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// latestSchema reads the newest schema version (one LIST, one GET).
func (c *Catalog) latestSchema(ctx context.Context, db, name string) (*types.Schema, error) {
	ids, err := c.schemaIDs(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return c.readSchema(ctx, db, name, ids[len(ids)-1])
}

// DropTable deletes a table and all its files, in the warehouse and in
// its cold tier (see DropTableResult, which also says when cold copies
// remain).
func (c *Catalog) DropTable(ctx context.Context, db, name string, ifExists bool) error {
	_, err := c.DropTableResult(ctx, db, name, ifExists)
	return err
}
