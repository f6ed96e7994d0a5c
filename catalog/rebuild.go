package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// RebuildTarget returns the table a rebuild of src writes into (see
// table.Rebuild), creating it when missing: src's columns, primary and
// partition keys and options, overlaid with overrides, plus the option
// rebuild.source naming src. The database is created if needed. An
// existing table must have been created that way for src with the same
// options, else the error (wrapping types.ErrConflict) names what
// differs: a rebuild never writes into a table it did not create.
func (c *Catalog) RebuildTarget(ctx context.Context, src *table.Table, dstDB, dstName string, overrides map[string]string) (dst *table.Table, created bool, err error) {
	if err := types.ValidateIdentifier("database", dstDB); err != nil {
		return nil, false, err
	}
	if err := types.ValidateIdentifier("table", dstName); err != nil {
		return nil, false, err
	}
	qualified := dstDB + "." + dstName
	if qualified == src.Name() {
		return nil, false, fmt.Errorf("%w: rebuild %s into itself", types.ErrInvalid, qualified)
	}
	if _, ok := overrides[table.OptRebuildSource]; ok {
		return nil, false, fmt.Errorf("%w: option %s is set by silt rebuild itself", types.ErrInvalid, table.OptRebuildSource)
	}
	want := rebuildSchema(src.Schema(), src.Name(), overrides)
	dst, err = c.LoadTable(ctx, dstDB, dstName)
	if errors.Is(err, types.ErrNotFound) {
		if err := c.CreateDatabase(ctx, dstDB, true); err != nil {
			return nil, false, err
		}
		dst, err = c.CreateTable(ctx, dstDB, dstName, want, false)
		if err == nil {
			return dst, true, nil
		}
		if !errors.Is(err, types.ErrConflict) {
			return nil, false, err
		}
		// Created concurrently: check it like any existing table.
		dst, err = c.LoadTable(ctx, dstDB, dstName)
	}
	if err != nil {
		return nil, false, err
	}
	if err := table.CheckRebuildTarget(src, dst); err != nil {
		return nil, false, err
	}
	if err := sameOptions(qualified, dst.Schema().Options, want.Options); err != nil {
		return nil, false, err
	}
	return dst, false, nil
}

// rebuildSchema is the schema of a new rebuild target of src.
func rebuildSchema(src *types.Schema, source string, overrides map[string]string) *types.Schema {
	s := &types.Schema{
		Fields:        append([]types.Field(nil), src.Fields...),
		PrimaryKeys:   append([]string(nil), src.PrimaryKeys...),
		PartitionKeys: append([]string(nil), src.PartitionKeys...),
		Comment:       src.Comment,
		Options:       map[string]string{},
	}
	for k, v := range src.Options {
		s.Options[k] = v
	}
	for k, v := range overrides {
		s.Options[k] = v
	}
	s.Options[table.OptRebuildSource] = source
	return s
}

// sameOptions checks that an existing target has exactly the options a
// rebuild asks for.
func sameOptions(name string, got, want map[string]string) error {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case gok && wok && g == w:
			continue
		case !gok:
			return fmt.Errorf("%w: table %s was rebuilt without option %s; this run sets it to %q (drop the table to rebuild it with other options)", types.ErrConflict, name, k, w)
		case !wok:
			return fmt.Errorf("%w: table %s was rebuilt with option %s=%q; this run does not set it (drop the table to rebuild it with other options)", types.ErrConflict, name, k, g)
		}
		return fmt.Errorf("%w: table %s was rebuilt with option %s=%q; this run asks for %q (drop the table to rebuild it with other options)", types.ErrConflict, name, k, g, w)
	}
	return nil
}
