package compaction

import (
	"bytes"
	"fmt"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Row-group copying. Within a run of sections that must be merged, a row
// group of an input file whose key range overlaps no other input file of
// the run comes out of the merge unchanged: every record of its keys is in
// that row group, silt files hold one merged record per key, and merging
// one merged record alone gives that record (lsm.Merger). Such a row group
// is copied into the output file (lsm.CopyGroup, lsm.WritePieces) instead of
// being decoded, merged and encoded again, provided
//
//   - row-group copying is on (Options.NoRowGroupCopy unset);
//   - the file was written with the job's schema (no conversion);
//   - nothing of it may be dropped: the plan does not drop deletes, or the
//     file holds no -U/-D records and no TTL applies;
//   - its key range is strictly apart from its neighbour row groups', so
//     no key spans it and a neighbour;
//   - it holds at least a quarter of RowGroupRows records, so that the
//     small row groups of small files are merged into full ones rather
//     than carried on from compaction to compaction.
//
// The merge still sees the row group, as one placeholder record (its
// smallest key, its GroupCopy as the only value) that copyMerger passes
// through unchanged; the executor hands it to the output writer in key
// order between the merged records.

// copyCandidate reports whether f's row groups may be copied in a merge
// with others, the files merged with it.
func (j *job) copyCandidate(p *Plan, f *manifest.DataFile) bool {
	if j.Options.NoRowGroupCopy || f.SchemaID != j.schema.ID {
		return false
	}
	return !p.DropDeletes || (f.DeleteCount == 0 && j.Options.Expire == nil)
}

// copyable reports which row groups of fr (the file f) overlap none of
// others' key ranges, are strictly apart from their neighbours and hold at
// least minRows records.
func copyable(fr *lsm.FileReader, f *manifest.DataFile, others []inputFile, minRows int64) []bool {
	n := fr.NumRowGroups()
	out := make([]bool, n)
	for i := range n {
		g := fr.Group(i)
		if g.Rows < minRows {
			continue
		}
		if i > 0 && bytes.Compare(fr.Group(i-1).MaxKey, g.MinKey) >= 0 {
			continue
		}
		if i < n-1 && bytes.Compare(g.MaxKey, fr.Group(i+1).MinKey) >= 0 {
			continue
		}
		ok := true
		for _, o := range others {
			if o.Path != f.Path && bytes.Compare(g.MinKey, o.MaxKey) <= 0 && bytes.Compare(o.MinKey, g.MaxKey) <= 0 {
				ok = false
				break
			}
		}
		out[i] = ok
	}
	return out
}

// placeholder is the record standing for a copied row group in the merge.
func placeholder(g *lsm.GroupCopy) lsm.Record {
	return lsm.Record{Key: g.MinKey(), Kind: types.Insert, Row: types.Row{g}, Merged: true}
}

// copyOf returns the row group a placeholder stands for, or nil.
func copyOf(r *lsm.Record) *lsm.GroupCopy {
	if len(r.Row) != 1 {
		return nil
	}
	g, _ := r.Row[0].(*lsm.GroupCopy)
	return g
}

// copyMerger passes placeholders through and merges everything else with
// the table's merge engine, boxing the values of RowRef records (see
// lsm.RowRef) when a key has several records, unless the engine picks one
// without reading rows (lsm.Picker). A placeholder merged with another record (a
// copied row group overlapping another input, which copyable rules out) is
// recorded as an error.
type copyMerger struct {
	lsm.Merger
	err   error
	pick  bool         // the merger picks without reading rows (lsm.Picker)
	boxed []lsm.Record // scratch: a key's records with RowRef rows boxed
}

func newCopyMerger(m lsm.Merger) *copyMerger {
	p, ok := m.(lsm.Picker)
	return &copyMerger{Merger: m, pick: ok && p.PickRule() != lsm.PickNone}
}

// PickRule is the merge engine's (lsm.Picker) when it picks without
// reading rows: the merge then takes a key's single merged +I/+U record
// as it is, without calling Merge, which would return it unchanged (a
// placeholder is such a record too).
func (m *copyMerger) PickRule() lsm.PickRule {
	if !m.pick {
		return lsm.PickNone
	}
	return m.Merger.(lsm.Picker).PickRule()
}

func (m *copyMerger) Merge(recs []lsm.Record) lsm.Record {
	for i := range recs {
		if copyOf(&recs[i]) != nil {
			if len(recs) > 1 && m.err == nil {
				m.err = fmt.Errorf("%w: copied row group at key %x overlaps another input", types.ErrInvalid, recs[i].Key)
			}
			return recs[i]
		}
	}
	if m.pick {
		return m.Merger.Merge(recs)
	}
	if len(recs) == 1 && lsm.RefOf(&recs[0]) != nil {
		// One merged record alone merges to itself (lsm.Merger): its
		// values need not be read.
		return recs[0]
	}
	for i := range recs {
		if lsm.RefOf(&recs[i]) != nil {
			if m.boxed == nil {
				m.boxed = make([]lsm.Record, 0, len(recs))
			}
			m.boxed = m.boxed[:0]
			for _, r := range recs {
				m.boxed = append(m.boxed, lsm.Box(r))
			}
			return m.Merger.Merge(m.boxed)
		}
	}
	return m.Merger.Merge(recs)
}
