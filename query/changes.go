package query

import (
	"context"
	"errors"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// table_changes('db.t', from[, to]): the row changes that lead from the
// table's state at snapshot from to its state at snapshot to, commit by
// commit. from and to are snapshot ids, tag names, times (TIMESTAMP or
// DATE constants, or strings that are not tags), or NULL: from NULL (or
// 0) is the empty table, to NULL (or absent) the latest snapshot.

// resolveTableFunc opens the relation of a table function in FROM.
func (e *Engine) resolveTableFunc(ctx context.Context, f *tableFunc, now time.Time) (*relation, error) {
	if f.name != "table_changes" {
		return nil, errf(types.ErrNotFound, "unknown table function %s (table functions: table_changes)", f.name)
	}
	if len(f.args) < 2 || len(f.args) > 3 {
		return nil, errf(types.ErrInvalid, "table_changes takes a table name, a start snapshot and an optional end snapshot, got %d arguments", len(f.args))
	}
	vals := make([]types.Value, len(f.args))
	for i, a := range f.args {
		b := &binder{ctx: ctx, sc: &scope{where: "(table_changes takes constants)"}, now: now, clause: "table_changes"}
		v, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		if vals[i], err = v.Eval(nil); err != nil {
			return nil, err
		}
	}
	name, ok := vals[0].(string)
	if !ok {
		return nil, errf(types.ErrInvalid, "table_changes: the first argument is the table name as a string ('db.t'), got %s", f.args[0])
	}
	n, err := parseTableNameString(token{kind: tString, text: name, pos: f.pos})
	if err != nil {
		return nil, errf(types.ErrInvalid, "table_changes: bad table name %s", quoteString(name))
	}
	r, err := e.resolveTable(ctx, n)
	if err != nil {
		return nil, err
	}
	if r.system != "" {
		return nil, errf(types.ErrInvalid, "table_changes: %s is a system table", r)
	}
	h, err := r.history()
	if err != nil {
		return nil, err
	}
	var from, to *manifest.Snapshot
	if from, err = e.changesBound(ctx, r, h, vals[1], f.args[1], true); err != nil {
		return nil, err
	}
	var toVal types.Value
	if len(vals) == 3 {
		toVal = vals[2]
	}
	var toArg expr
	if len(f.args) == 3 {
		toArg = f.args[2]
	}
	if to, err = e.changesBound(ctx, r, h, toVal, toArg, false); err != nil {
		return nil, err
	}
	switch {
	case to == nil && from != nil:
		return nil, errf(types.ErrInvalid, "table_changes: table %s has no snapshot after %d", r, from.ID)
	case from != nil && from.ID > to.ID:
		return nil, errf(types.ErrInvalid, "table_changes: the start snapshot %d is after the end snapshot %d", from.ID, to.ID)
	}
	r.system, r.changesFrom, r.changesTo = sysChanges, from, to
	r.schema, r.cols = nil, changeColumns(r.t.Schema())
	return r, nil
}

// changesBound resolves one bound of table_changes; start says which.
func (e *Engine) changesBound(ctx context.Context, r *relation, h History, v types.Value, arg expr, start bool) (*manifest.Snapshot, error) {
	var spec ScanSpec
	switch x := v.(type) {
	case nil:
		if start {
			return nil, nil
		}
	case int32:
		spec.SnapshotID = int64(x)
	case int64:
		spec.SnapshotID = x
	case types.Timestamp:
		spec.AsOfMillis = floorDiv(int64(x), 1000)
	case types.Date:
		spec.AsOfMillis = int64(x) * 86_400_000
	case string:
		// A tag when one of that name exists, else a time.
		if manifest.ValidateRefName("tag", x) == nil {
			s, err := h.Resolve(ctx, ScanSpec{Tag: x})
			if err == nil {
				return s, nil
			}
			if !errors.Is(err, types.ErrNotFound) {
				return nil, err
			}
		}
		ts, err := types.ParseTimestamp(x)
		if err != nil {
			return nil, errf(types.ErrNotFound, "table_changes: %s is neither a tag of table %s nor a time ('YYYY-MM-DD HH:MM:SS')", quoteString(x), r.base())
		}
		spec.AsOfMillis = floorDiv(int64(ts), 1000)
	default:
		return nil, errf(types.ErrInvalid, "table_changes: %s is not a snapshot id, tag or time", arg)
	}
	if start && spec.SnapshotID == 0 && spec.AsOfMillis == 0 && spec.Tag == "" {
		return nil, nil // snapshot 0: the empty table
	}
	if spec.SnapshotID < 0 {
		return nil, errf(types.ErrInvalid, "table_changes: snapshot id %d must not be negative", spec.SnapshotID)
	}
	if !start && spec.SnapshotID == 0 && spec.AsOfMillis == 0 && v != nil {
		return nil, errf(types.ErrInvalid, "table_changes: the end snapshot cannot be 0")
	}
	s, err := h.Resolve(ctx, spec)
	if err != nil {
		return nil, r.refErr(spec, err)
	}
	return s, nil
}
