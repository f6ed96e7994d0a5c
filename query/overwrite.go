package query

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// INSERT OVERWRITE [TABLE] t [PARTITION (p = v, …)] [(cols)] SELECT …|VALUES …
// (Spark and Paimon): the statement's rows replace rows of t in one
// OVERWRITE commit, so readers see the table before or after, never a mix.
//
//   - An unpartitioned table is replaced whole.
//   - A partitioned table without PARTITION: dynamic overwrite (Paimon's
//     default, dynamic-partition-overwrite = true): the partitions the
//     rows fall into are replaced, the others kept; no rows, no change.
//   - With PARTITION (p = v, …): the partitions agreeing with the values
//     are replaced (all of them even if the query returns no rows, and
//     all sub-partitions when the clause names only some partition
//     columns); the query provides the other columns, and the clause's
//     values fill the partition columns.

// partitionValue is one p = v of a static PARTITION clause.
type partitionValue struct {
	col   identAt
	value expr
}

// overwriteTarget parses OVERWRITE [TABLE] t [PARTITION (p = v, …)] after
// INSERT.
func (p *parser) overwriteTarget(s *insertStmt) error {
	p.next() // OVERWRITE
	s.overwrite = true
	p.acceptKw("TABLE")
	var err error
	if s.table, err = p.tableName(); err != nil {
		return err
	}
	if !p.acceptKw("PARTITION") {
		return nil
	}
	if err := p.expectOp("("); err != nil {
		return err
	}
	for {
		n, pos, err := p.ident("partition column")
		if err != nil {
			return err
		}
		if err := p.expectOp("="); err != nil {
			return err
		}
		v, err := p.parseExpr()
		if err != nil {
			return err
		}
		s.partition = append(s.partition, partitionValue{col: identAt{n, pos}, value: v})
		if !p.acceptOp(",") {
			return p.expectOp(")")
		}
	}
}

// overwriteHead prints the statement up to its column list.
func (s *insertStmt) overwriteHead() string {
	out := "INSERT OVERWRITE TABLE " + s.table.String()
	if len(s.partition) > 0 {
		parts := make([]string, len(s.partition))
		for i, pv := range s.partition {
			parts[i] = quoteIdent(pv.col.name) + " = " + pv.value.String()
		}
		out += " PARTITION (" + strings.Join(parts, ", ") + ")"
	}
	return out
}

// staticPartition evaluates the PARTITION clause of s: schema position →
// value, also stored into defaults (the row every inserted row starts
// from). nil when s has none.
func (e *Engine) staticPartition(ctx context.Context, r *relation, s *insertStmt, defaults types.Row) (map[int]types.Value, error) {
	if len(s.partition) == 0 {
		return nil, nil
	}
	part := r.schema.PartitionIndexes()
	if len(part) == 0 {
		return nil, errf(types.ErrInvalid, "table %s is not partitioned; drop the PARTITION clause", r)
	}
	out := map[int]types.Value{}
	b := &binder{ctx: ctx, sc: &scope{where: "(a PARTITION value cannot refer to columns)"}, now: e.now(), clause: "PARTITION"}
	for _, pv := range s.partition {
		i := r.schema.FieldIndex(pv.col.name)
		if i < 0 || !containsInt(part, i) {
			return nil, errf(types.ErrInvalid, "%q is not a partition column of table %s (partition columns: %s)", pv.col.name, r, partitionNames(r.schema))
		}
		if _, dup := out[i]; dup {
			return nil, errf(types.ErrInvalid, "partition column %q is given twice", pv.col.name)
		}
		if err := e.resolveSubqueries(ctx, nil, pv.value); err != nil {
			return nil, err
		}
		v, err := b.bind(pv.value)
		if err != nil {
			return nil, err
		}
		val, err := v.Eval(nil)
		if err != nil {
			return nil, err
		}
		f := r.schema.Fields[i]
		if val, err = assign(v, val, f); err != nil {
			return nil, err
		}
		if val == nil && f.NotNull {
			return nil, errf(types.ErrInvalid, "partition column %q is NOT NULL; give it a value", f.Name)
		}
		out[i] = val
		defaults[i] = val
	}
	return out, nil
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func partitionNames(s *types.Schema) string {
	var names []string
	for _, i := range s.PartitionIndexes() {
		names = append(names, s.Fields[i].Name)
	}
	return strings.Join(names, ", ")
}

// OverwriteScope chooses the rows an INSERT OVERWRITE replaces; see
// table.OverwriteScope.
type OverwriteScope struct {
	// Static maps partition column positions to values: every partition
	// agreeing with them is replaced.
	Static map[int]types.Value
	// Dynamic replaces the partitions the rows fall into (partitioned
	// tables without Static); otherwise the whole table is replaced.
	Dynamic bool
}

// Overwriter is an optional Table capability: INSERT OVERWRITE. Overwrite
// writes rows (full rows in current schema order) and removes the rows
// scope selects in one commit, returning the new snapshot's id (0 when
// nothing changed).
type Overwriter interface {
	Overwrite(ctx context.Context, rows []Change, scope OverwriteScope) (int64, error)
}

func (e *Engine) applyOverwrite(ctx context.Context, r *relation, changes []Change, static map[int]types.Value) (*Result, error) {
	ow, ok := r.t.(Overwriter)
	if !ok {
		return nil, errf(types.ErrInvalid, "table %s does not support INSERT OVERWRITE", r)
	}
	scope := OverwriteScope{Static: static, Dynamic: len(static) == 0 && len(r.schema.PartitionIndexes()) > 0}
	// The last point to stop a canceled statement before it writes.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := ow.Overwrite(ctx, changes, scope)
	if err != nil {
		return nil, fmt.Errorf("overwriting %s: %w", r, err)
	}
	return &Result{Message: "INSERT OVERWRITE " + strconv.Itoa(len(changes)), SnapshotID: id}, nil
}

// Overwrite implements Overwriter with one OVERWRITE commit
// (table.Writer.CommitOverwrite).
func (s *siltTable) Overwrite(ctx context.Context, rows []Change, scope OverwriteScope) (int64, error) {
	w := s.t.NewWriter(s.c.User)
	defer func() { _ = w.Close(ctx) }()
	for i, ch := range rows {
		if err := w.Write(ctx, ch.Kind, ch.Row); err != nil {
			_ = w.Abort(ctx)
			return 0, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	s.c.stmt++
	snap, err := w.CommitOverwrite(ctx, table.CommitRequest{Identifier: strconv.FormatInt(s.c.stmt, 10), Fresh: true},
		table.OverwriteScope{Static: scope.Static, Dynamic: scope.Dynamic})
	if err != nil {
		_ = w.Abort(ctx)
		return 0, err
	}
	if snap == nil {
		return 0, nil
	}
	return snap.ID, nil
}
