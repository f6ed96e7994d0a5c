package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TRUNCATE [TABLE] t: one commit that removes every row of t. Tables with
// the Truncater capability drop all their files in one OVERWRITE commit
// (no data is read); others delete every row like DELETE FROM t.

type truncateStmt struct {
	pos   position
	table tableName
}

func (s *truncateStmt) stmtPos() position { return s.pos }
func (s *truncateStmt) String() string    { return "TRUNCATE TABLE " + s.table.String() }

func (p *parser) parseTruncate() (statement, error) {
	t := p.next()
	p.acceptKw("TABLE")
	n, err := p.tableName()
	return &truncateStmt{pos: t.pos, table: n}, err
}

// Truncater is an optional Table capability: remove every row in one
// commit without reading the data. It returns the new snapshot's id, or 0
// when the table had no rows to remove (nothing is committed).
type Truncater interface {
	Truncate(ctx context.Context) (int64, error)
}

func (e *Engine) truncate(ctx context.Context, s *truncateStmt) (*Result, error) {
	r, err := e.writableTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	tr, ok := r.t.(Truncater)
	if !ok {
		res, err := e.execDelete(ctx, &deleteStmt{pos: s.pos, table: s.table})
		if res != nil {
			res.Message = "TRUNCATE"
		}
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := tr.Truncate(ctx)
	if err != nil {
		return nil, fmt.Errorf("truncating %s: %w", r, err)
	}
	return &Result{Message: "TRUNCATE", SnapshotID: id}, nil
}

// truncateAttempts bounds the retries of a TRUNCATE that lost a race with
// another commit.
const truncateAttempts = 5

// errMoved: another commit landed between reading the latest snapshot and
// committing over it.
var errMoved = errors.New("the table changed while truncating it")

// Truncate commits an OVERWRITE that deletes every live file of the
// table's latest snapshot. The commit's parent must be that snapshot, so
// rows committed concurrently are removed too (or the truncate retries).
func (s *siltTable) Truncate(ctx context.Context) (int64, error) {
	meta := s.t.Meta()
	var lastErr error
	for range truncateAttempts {
		snap, err := meta.Latest(ctx)
		if err != nil || snap == nil {
			return 0, err
		}
		files, err := meta.Files(ctx, snap)
		if err != nil {
			return 0, fmt.Errorf("snapshot %d: %w", snap.ID, err)
		}
		if len(files) == 0 {
			return 0, nil
		}
		s.c.stmt++
		next, err := meta.Commit(ctx, manifest.Commit{
			User: s.c.User, Identifier: strconv.FormatInt(s.c.stmt, 10), Fresh: true,
			Kind: manifest.CommitOverwrite, SchemaID: snap.SchemaID, Deleted: files,
			Check: func(parent *manifest.Snapshot) error {
				if parent == nil || parent.ID != snap.ID {
					return errMoved
				}
				return nil
			},
		})
		if errors.Is(err, objstore.ErrAmbiguous) { // an attempt may have landed: do not truncate twice
			return 0, err
		}
		if errors.Is(err, errMoved) || errors.Is(err, types.ErrConflict) {
			lastErr = err
			continue
		}
		if err != nil {
			return 0, err
		}
		return next.ID, nil
	}
	return 0, fmt.Errorf("%w: %v (tried %d times; retry the TRUNCATE)", types.ErrConflict, lastErr, truncateAttempts)
}
