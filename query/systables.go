package query

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// System tables of history: t$tags, t$branches (main first, then the
// created branches by name), t$manifests, t$options,
// t$audit_log, t$iceberg (the published Iceberg view, one row per Iceberg
// snapshot), and the relation behind table_changes(…). Like the others
// they are ordinary relations: WHERE, ORDER BY, aggregates all work.

const (
	sysTags      = "tags"
	sysBranches  = "branches"
	sysManifests = "manifests"
	sysOptions   = "options"
	sysAuditLog  = "audit_log"
	sysIceberg   = "iceberg"
	// sysChanges is the relation of table_changes(…); it has no $ name.
	sysChanges = "table_changes()"
)

// systemTables lists the $ names in the order error messages show them.
func systemTables() []string {
	return []string{sysSnapshots, sysSchemas, sysFiles, sysManifests, sysOptions, sysTags, sysBranches, sysAuditLog, sysIceberg}
}

func isSystemTable(name string) bool { return slices.Contains(systemTables(), name) }

func systemTableList() string { return "$" + strings.Join(systemTables(), ", $") }

// systemColumns returns the columns of system table sys of a table with
// schema s.
func systemColumns(sys string, s *types.Schema) []Column {
	switch sys {
	case sysSchemas:
		return schemasColumns()
	case sysFiles:
		return filesColumns()
	case sysTags:
		return []Column{
			{"tag_name", types.TString},
			{"snapshot_id", types.TBigInt},
			{"schema_id", types.TBigInt},
			{"commit_time", types.TTimestamp},
			{"record_count", types.TBigInt},
			{"branch", types.TString},
			{"auto", types.TBoolean},
			{"create_time", types.TTimestamp},
		}
	case sysBranches:
		return []Column{
			{"branch_name", types.TString},
			{"created_from_snapshot", types.TBigInt},
			{"created_from_tag", types.TString},
			{"created_from_branch", types.TString},
			{"create_time", types.TTimestamp},
			{"latest_snapshot_id", types.TBigInt},
		}
	case sysManifests:
		return []Column{
			{"file_name", types.TString},
			{"file_size", types.TBigInt},
			{"num_added_files", types.TBigInt},
			{"num_deleted_files", types.TBigInt},
			{"schema_id", types.TBigInt},
		}
	case sysOptions:
		return []Column{
			{"key", types.TString},
			{"value", types.TString},
			{"default_value", types.TString},
			{"is_set", types.TBoolean},
			{"description", types.TString},
		}
	case sysAuditLog, sysChanges:
		return changeColumns(s)
	case sysIceberg:
		return []Column{
			{"snapshot_id", types.TBigInt},
			{"branch", types.TString},
			{"iceberg_snapshot_id", types.TBigInt},
			{"sequence_number", types.TBigInt},
			{"commit_time", types.TTimestamp},
			{"refs", types.TString},
			{"metadata_location", types.TString},
			{"manifest_list", types.TString},
			{"delete_files", types.TBigInt},
			{"delete_file_paths", types.TString},
			{"files_without_field_ids", types.TBigInt},
		}
	}
	return snapshotsColumns()
}

// changeColumns are the columns of t$audit_log and table_changes: the row
// kind (+I, -U, +U, -D), the snapshot whose commit made the change, then
// the table's columns. The two leading names get a '_' prefix while they
// collide with a column of the table.
func changeColumns(s *types.Schema) []Column {
	taken := map[string]bool{}
	var cols []Column
	if s != nil {
		for _, f := range s.Fields {
			taken[strings.ToLower(f.Name)] = true
			cols = append(cols, Column{Name: f.Name, Type: f.Type})
		}
	}
	name := func(n string) string {
		for taken[n] {
			n = "_" + n
		}
		taken[n] = true
		return n
	}
	return append([]Column{{name("rowkind"), types.TString}, {name("snapshot_id"), types.TBigInt}}, cols...)
}

// tierName shows the hot store's empty tier name as "hot".
func tierName(t string) string {
	if t == "" {
		return "hot"
	}
	return t
}

func millisTS(ms int64) types.Value {
	if ms == 0 {
		return nil
	}
	return types.Timestamp(ms * 1000)
}

func rowsSeq(rows []types.Row) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		for _, row := range rows {
			if !yield(row, nil) {
				return
			}
		}
	}
}

// systemRows returns the rows of a history system table (or of
// table_changes) at spec.
func (e *Engine) systemRows(ctx context.Context, r *relation, spec ScanSpec) (int64, iter.Seq2[types.Row, error], error) {
	h, err := r.history()
	if err != nil {
		return 0, nil, err
	}
	switch r.system {
	case sysTags:
		tags, err := h.Tags(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("listing tags of %s: %w", r.base(), err)
		}
		rows := make([]types.Row, 0, len(tags))
		for _, t := range tags {
			branch := t.Branch
			if branch == "" {
				branch = manifest.MainBranch
			}
			rows = append(rows, types.Row{t.Name, t.Snapshot.ID, t.Snapshot.SchemaID, millisTS(t.Snapshot.TimeMillis),
				t.Snapshot.TotalRecordCount, branch, t.Auto, millisTS(t.CreatedMillis)})
		}
		return 0, rowsSeq(rows), nil
	case sysBranches:
		infos, err := h.Branches(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("listing branches of %s: %w", r.base(), err)
		}
		// main first: it was created from nothing, with the table.
		mainLatest, err := latestOfMain(ctx, h)
		if err != nil {
			return 0, nil, fmt.Errorf("listing branches of %s: %w", r.base(), err)
		}
		rows := make([]types.Row, 0, len(infos)+1)
		rows = append(rows, types.Row{manifest.MainBranch, nil, nil, nil, nil, mainLatest})
		for _, b := range infos {
			var from, latest types.Value
			if b.From != nil {
				from = b.From.ID
			}
			if bt, err := h.Branch(ctx, b.Name); err == nil {
				if bh, ok := bt.(History); ok {
					if s, err := bh.Resolve(ctx, ScanSpec{}); err == nil && s != nil {
						latest = s.ID
					}
				}
			}
			fromBranch := b.FromBranch
			if fromBranch == "" && b.From != nil {
				fromBranch = manifest.MainBranch
			}
			rows = append(rows, types.Row{b.Name, from, nullIfEmpty(b.FromTag), nullIfEmpty(fromBranch), millisTS(b.CreatedMillis), latest})
		}
		return 0, rowsSeq(rows), nil
	case sysManifests:
		snap, err := h.Resolve(ctx, spec)
		if err != nil {
			return 0, nil, r.refErr(spec, err)
		}
		if snap == nil {
			return 0, rowsSeq(nil), nil
		}
		metas, err := h.Manifests(ctx, snap)
		if err != nil {
			return 0, nil, fmt.Errorf("listing manifests of %s: %w", r, err)
		}
		rows := make([]types.Row, 0, len(metas))
		for _, m := range metas {
			rows = append(rows, types.Row{m.Path, m.Size, m.NumAdded, m.NumDeleted, m.SchemaID})
		}
		return snap.ID, rowsSeq(rows), nil
	case sysOptions:
		opts := h.Options()
		rows := make([]types.Row, 0, len(opts))
		for _, o := range opts {
			rows = append(rows, types.Row{o.Key, nullIfEmpty(o.Value), nullIfEmpty(o.Default), o.Set, o.Description})
		}
		return 0, rowsSeq(rows), nil
	case sysAuditLog:
		snaps, err := r.t.Snapshots(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("listing snapshots of %s: %w", r, err)
		}
		if len(snaps) == 0 {
			return 0, rowsSeq(nil), nil
		}
		first, last := snaps[0], snaps[len(snaps)-1]
		// The state at the earliest retained snapshot (as inserts when
		// history before it has expired), then every commit since.
		return last.ID, r.changeRows(ctx, h, []*manifest.Snapshot{nil, first, last}), nil
	case sysIceberg:
		return r.icebergRows(ctx)
	case sysChanges:
		var id int64
		if r.changesTo != nil {
			id = r.changesTo.ID
		}
		return id, r.changeRows(ctx, h, []*manifest.Snapshot{r.changesFrom, r.changesTo}), nil
	}
	return 0, nil, errf(types.ErrInvalid, "internal: unknown system table %s", r.system)
}

// changeRows yields the changes between consecutive snapshots of chain as
// rows of changeColumns.
func (r *relation) changeRows(ctx context.Context, h History, chain []*manifest.Snapshot) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		for i := 0; i+1 < len(chain); i++ {
			from, to := chain[i], chain[i+1]
			if to == nil || (from != nil && from.ID == to.ID) {
				continue
			}
			for c, err := range h.Changes(ctx, from, to) {
				if err != nil {
					yield(nil, fmt.Errorf("reading the changes of %s: %w", r, err))
					return
				}
				row := make(types.Row, 0, len(c.Row)+2)
				row = append(row, c.Kind.String(), c.SnapshotID)
				row = append(row, c.Row...)
				if err := r.checkRow(row); err != nil {
					yield(nil, err)
					return
				}
				if !yield(row, nil) {
					return
				}
			}
		}
	}
}

// latestOfMain returns the id of the main branch's latest snapshot (NULL
// for an empty table), whatever branch h views.
func latestOfMain(ctx context.Context, h History) (types.Value, error) {
	mt, err := h.Branch(ctx, manifest.MainBranch)
	if err != nil {
		return nil, err
	}
	mh, ok := mt.(History)
	if !ok {
		return nil, errf(types.ErrInvalid, "internal: the main branch has no history")
	}
	s, err := mh.Resolve(ctx, ScanSpec{})
	if err != nil || s == nil {
		return nil, err
	}
	return s.ID, nil
}

func nullIfEmpty(s string) types.Value {
	if s == "" {
		return nil
	}
	return s
}

// icebergRows are the rows of t$iceberg: one per Iceberg snapshot of the
// table's current Iceberg metadata (none when the view is not published),
// in sequence order.
func (r *relation) icebergRows(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
	st, ok := r.t.(*siltTable)
	if !ok {
		return 0, rowsSeq(nil), nil
	}
	loc, snaps, err := icebergview.Published(ctx, st.t.Store(), st.t.Root())
	if errors.Is(err, icebergview.ErrNotPublished) {
		return 0, rowsSeq(nil), nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("reading the iceberg view of %s: %w", r.base(), err)
	}
	rows := make([]types.Row, 0, len(snaps))
	for _, s := range snaps {
		branch := s.Branch
		if branch == "" {
			branch = manifest.MainBranch
		}
		var refs, dels types.Value
		if len(s.Refs) > 0 {
			refs = strings.Join(s.Refs, ",")
		}
		if len(s.DeleteFiles) > 0 {
			dels = strings.Join(s.DeleteFiles, ",")
		}
		var noIDs types.Value
		if s.FilesWithoutFieldIDs >= 0 {
			noIDs = int64(s.FilesWithoutFieldIDs)
		}
		rows = append(rows, types.Row{s.SnapshotID, branch, s.IcebergID, s.Sequence, millisTS(s.TimeMillis), refs, loc,
			s.ManifestList, int64(len(s.DeleteFiles)), dels, noIDs})
	}
	return 0, rowsSeq(rows), nil
}
