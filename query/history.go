package query

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Table history in SQL: tags, branches, rollback and fast-forward
// (historyStmt), time travel by tag, and the capability tables offer for
// them.

// History is an optional Table capability (discovered by type assertion):
// tags, branches, rollback, fast-forward and row-level changes. Snapshot
// specs name a snapshot by id, tag or time; the zero spec is the latest.
type History interface {
	// Branch returns the table's view of an existing branch; an unknown
	// branch wraps types.ErrNotFound.
	Branch(ctx context.Context, name string) (Table, error)
	// Resolve returns the snapshot spec names (nil: latest of an empty
	// table); unknown ids, tags and too early times wrap ErrNotFound.
	Resolve(ctx context.Context, spec ScanSpec) (*manifest.Snapshot, error)
	Tags(ctx context.Context) ([]*manifest.Tag, error)
	CreateTag(ctx context.Context, name string, from ScanSpec) (*manifest.Tag, error)
	DeleteTag(ctx context.Context, name string) error
	// Rollback publishes the content of the snapshot to names as a new
	// snapshot and returns it.
	Rollback(ctx context.Context, to ScanSpec) (*manifest.Snapshot, error)
	// Branches lists the created branches (main not included).
	Branches(ctx context.Context) ([]*manifest.BranchInfo, error)
	CreateBranch(ctx context.Context, name string, from ScanSpec) error
	DropBranch(ctx context.Context, name string) error
	// FastForward publishes the latest snapshot of branch on this table's
	// branch and returns the new snapshot.
	FastForward(ctx context.Context, branch string) (*manifest.Snapshot, error)
	// Changes yields the row changes from snapshot from (nil: empty) to
	// snapshot to, commit by commit, in full rows of the current schema.
	Changes(ctx context.Context, from, to *manifest.Snapshot) iter.Seq2[RowChange, error]
	// Manifests lists the manifests of a snapshot.
	Manifests(ctx context.Context, s *manifest.Snapshot) ([]manifest.ManifestMeta, error)
	// Options lists the table's effective options.
	Options() []OptionInfo
}

// RowChange is one changelog row and the snapshot whose commit made it.
type RowChange struct {
	SnapshotID int64
	Kind       types.RowKind
	Row        types.Row
}

// OptionInfo is one effective table option: its value (set, or the
// default) and documentation.
type OptionInfo struct {
	Key, Value, Default, Description string
	Set                              bool
}

// history returns the History capability of r's table.
func (r *relation) history() (History, error) {
	h, ok := r.t.(History)
	if !ok {
		return nil, errf(types.ErrInvalid, "table %s.%s does not keep tags and branches", r.db, r.table)
	}
	return h, nil
}

// refErr turns a failed snapshot resolution into a message naming what
// was not found.
func (r *relation) refErr(spec ScanSpec, err error) error {
	if errors.Is(err, types.ErrNotFound) && spec.Tag != "" {
		return errf(types.ErrNotFound, "unknown tag %s of table %s", quoteString(spec.Tag), r.base())
	}
	return r.scanErr(spec, err)
}

// base names the relation's table without branch or system table.
func (r *relation) base() string { return r.db + "." + r.table }

func (e *Engine) execHistory(ctx context.Context, s *historyStmt) (*Result, error) {
	r, err := e.resolveTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	if r.system != "" {
		return nil, errf(types.ErrInvalid, "system table %s has no tags or branches; use %s", r, r.base())
	}
	h, err := r.history()
	if err != nil {
		return nil, err
	}
	var spec ScanSpec
	if s.at != nil {
		if spec, err = e.asOfSpec(s.at, r, e.now()); err != nil {
			return nil, err
		}
	}
	switch s.op {
	case opCreateTag:
		tag, err := h.CreateTag(ctx, s.name, spec)
		switch {
		case s.ifNotExists && errors.Is(err, types.ErrConflict):
			return &Result{Message: "CREATE TAG " + s.name + " (exists)"}, nil
		case errors.Is(err, types.ErrConflict):
			return nil, errf(types.ErrConflict, "tag %s of table %s already exists", quoteString(s.name), r.base())
		case err != nil:
			return nil, r.refErr(spec, err)
		}
		return &Result{Message: "CREATE TAG " + s.name, SnapshotID: tag.Snapshot.ID}, nil
	case opDropTag:
		err := h.DeleteTag(ctx, s.name)
		switch {
		case errors.Is(err, types.ErrNotFound) && s.ifExists:
			return &Result{Message: "DROP TAG " + s.name + " (absent)"}, nil
		case errors.Is(err, types.ErrNotFound):
			return nil, errf(types.ErrNotFound, "unknown tag %s of table %s", quoteString(s.name), r.base())
		case err != nil:
			return nil, err
		}
		return &Result{Message: "DROP TAG " + s.name}, nil
	case opRollback:
		snap, err := h.Rollback(ctx, spec)
		if err != nil {
			return nil, r.refErr(spec, err)
		}
		return &Result{Message: fmt.Sprintf("ROLLBACK %s TO %s", r, snap.Properties[propReplaceSource]), SnapshotID: snap.ID}, nil
	case opCreateBranch:
		err := h.CreateBranch(ctx, s.name, spec)
		switch {
		case s.ifNotExists && errors.Is(err, types.ErrConflict):
			return &Result{Message: "CREATE BRANCH " + s.name + " (exists)"}, nil
		case errors.Is(err, types.ErrConflict):
			return nil, errf(types.ErrConflict, "branch %s of table %s already exists", quoteString(s.name), r.base())
		case err != nil:
			return nil, r.refErr(spec, err)
		}
		return &Result{Message: "CREATE BRANCH " + s.name}, nil
	case opDropBranch:
		err := h.DropBranch(ctx, s.name)
		switch {
		case errors.Is(err, types.ErrNotFound) && s.ifExists:
			return &Result{Message: "DROP BRANCH " + s.name + " (absent)"}, nil
		case errors.Is(err, types.ErrNotFound):
			return nil, errf(types.ErrNotFound, "unknown branch %s of table %s", quoteString(s.name), r.base())
		case err != nil:
			return nil, err
		}
		return &Result{Message: "DROP BRANCH " + s.name}, nil
	case opFastForward:
		snap, err := h.FastForward(ctx, s.name)
		if errors.Is(err, types.ErrNotFound) {
			return nil, errf(types.ErrNotFound, "unknown branch %s of table %s", quoteString(s.name), r.base())
		}
		if err != nil {
			return nil, err
		}
		return &Result{Message: fmt.Sprintf("FAST FORWARD %s TO BRANCH %s", r, s.name), SnapshotID: snap.ID}, nil
	}
	return nil, errf(types.ErrInvalid, "internal: unknown history operation %d", s.op)
}

// propReplaceSource mirrors table.PropReplaceSource (the query package
// reads it from snapshot properties only).
const propReplaceSource = "silt.replace.source"

// openBranch returns the relation's table on branch (the base table when
// branch is "").
func (r *relation) openBranch(ctx context.Context, branch string) error {
	if branch == "" {
		return nil
	}
	h, err := r.history()
	if err != nil {
		return err
	}
	bt, err := h.Branch(ctx, branch)
	if errors.Is(err, types.ErrNotFound) {
		return errf(types.ErrNotFound, "unknown branch %s of table %s", quoteString(branch), r.base())
	}
	if err != nil {
		return fmt.Errorf("opening branch %s of %s: %w", branch, r.base(), err)
	}
	r.t, r.branch = bt, branch
	return nil
}
