package manifest

import (
	"context"
	"errors"
	"fmt"

	"github.com/siltdb/silt/types"
)

// A published snapshot id is never reused. Snapshot ids are contiguous and
// the newest snapshot is found by probing forward from the LATEST hint
// until the first missing id, so a lost newest snapshot object would look
// like an older table: reads would silently show its predecessor and the
// next commit would publish a different snapshot under the lost id
// (put-if-absent cannot tell a lost object from one never written). Caches,
// lookup indexes and change consumers that saw the lost snapshot would then
// take the new one for it. Two things prove that an id was published even
// when its object is gone: the LATEST hint (written only after a commit
// succeeds, and only ever raised, see writeHint) and any snapshot object
// with a higher id. Latest and Commit check both and report
// SnapshotMissingError instead of moving backwards.

// SnapshotMissingError says that snapshot ID was published (Proof says how
// that is known) but its object is gone, while the newest snapshot that
// follows from the ids below it is Present (0: none). It wraps
// types.ErrCorruption. Reads of the latest snapshot and commits other than
// REPLACE (rollback, fast-forward) fail with it until an operator restores
// the object or rolls back explicitly; a rollback publishes its snapshot
// under Next, above every id known to have been published.
type SnapshotMissingError struct {
	ID, Present, Next int64
	Table             string
	Proof             string
}

func (e *SnapshotMissingError) Error() string {
	present := fmt.Sprintf("the newest snapshot before it is %d", e.Present)
	fix := fmt.Sprintf("restore snapshot/snapshot-%d from a backup, or roll back explicitly to a present snapshot"+
		" (e.g. ALTER TABLE ... ROLLBACK TO VERSION %d), which publishes it as snapshot %d; a published id is never reused",
		e.ID, e.Present, e.Next)
	if e.Present == 0 {
		present = "no snapshot before it is present"
		fix = fmt.Sprintf("restore snapshot/snapshot-%d from a backup; a published id is never reused", e.ID)
	}
	return fmt.Sprintf("%v: snapshot %d of table %s is missing although %s (%s): %s",
		types.ErrCorruption, e.ID, e.Table, e.Proof, present, fix)
}

func (e *SnapshotMissingError) Unwrap() error { return types.ErrCorruption }

// published is the highest id known to have been published so far.
type published struct {
	id int64
	// lost is an id known to be published and missing (0: none known),
	// and proof says how it is known.
	lost  int64
	proof string
}

// newestPresent returns the newest snapshot present (nil when none), found
// from the LATEST hint or the listing by probing forward, the highest id
// the hint proves was published, and what the hint read found.
func (t *Table) newestPresent(ctx context.Context) (*Snapshot, published, hintSeen, error) {
	var (
		start *Snapshot
		pub   published
	)
	hint := t.readHint(ctx)
	if hint.valid {
		h := hint.id
		pub = published{id: h, lost: h, proof: "the LATEST hint names it"}
		hs, err := t.Snapshot(ctx, h)
		switch {
		case err == nil:
			start = hs
		case errors.Is(err, types.ErrNotFound):
			// Expired (the hint lags) or lost: the listing tells.
		default:
			return nil, published{}, hint, err
		}
	}
	if start == nil {
		ids, err := t.listIDs(ctx)
		if err != nil {
			return nil, published{}, hint, err
		}
		if len(ids) == 0 {
			return nil, pub, hint, nil
		}
		if start, err = t.Snapshot(ctx, ids[len(ids)-1]); err != nil {
			return nil, published{}, hint, err
		}
	}
	id, err := t.probeForward(ctx, start.ID)
	if err != nil {
		return nil, published{}, hint, err
	}
	if id != start.ID {
		if start, err = t.Snapshot(ctx, id); err != nil {
			return nil, published{}, hint, err
		}
	}
	if pub.id <= start.ID {
		pub = published{id: start.ID}
	}
	return start, pub, hint, nil
}

// missing returns the SnapshotMissingError of newest present s when pub
// proves a higher id was published, else nil.
func (t *Table) missing(s *Snapshot, pub published) error {
	var present int64
	if s != nil {
		present = s.ID
	}
	if pub.id <= present {
		return nil
	}
	return &SnapshotMissingError{ID: pub.lost, Present: present, Next: pub.id + 1, Table: t.where(), Proof: pub.proof}
}

// listedAbove returns the highest listed snapshot id when it is above
// present (then snapshot present+1 is lost: probing stopped there), else
// pub unchanged. A commit lists once, before it first reads the latest
// snapshot, so a listed id above the newest snapshot found later by
// probing cannot be a concurrent commit.
func listedAbove(listed, present int64, pub published) published {
	if listed > present && listed > pub.id {
		return published{id: listed, lost: present + 1, proof: fmt.Sprintf("snapshot %d exists", listed)}
	}
	return pub
}

// highestListed returns the highest snapshot id the listing of snapshot/
// shows (0: none).
func (t *Table) highestListed(ctx context.Context) (int64, error) {
	ids, err := t.listIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[len(ids)-1], nil
}
