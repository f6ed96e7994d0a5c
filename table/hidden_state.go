package table

import (
	"bytes"
	"math"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Key states: each key's merged record in a bucket, kept with a cached
// answer so that a bucket that only gained newer sorted runs (the usual
// commit) is answered by reading the new files alone. Merge engines are
// associative over contiguous sequence ranges (lsm.Merger), so merging a
// key's earlier merged record with its newer records gives what merging
// all of them gives; the earlier record takes part as the key's oldest
// record (mergeHidden), and when a newer record wins, the earlier winner's
// row becomes hidden.

// keyState is the merged record of every key of a bucket, in key order.
type keyState struct {
	keys []byte   // key i is keys[offs[i]:offs[i+1]]
	offs []uint32 // len(recs)+1 entries
	recs []stateRec
}

// stateRec is a key's merged record: the stored record it is (file index
// in bucketResult.paths and position), the merged kind (+I/+U: the scan's
// row; else a tombstone), and the values a later merge and the TTL read.
type stateRec struct {
	src    int32
	kind   types.RowKind
	pos    int64
	seqVal types.Value // sequence.field value, nil without
	at     types.Value // TTL time value of a visible row, nil without
}

func (s *keyState) len() int           { return len(s.recs) }
func (s *keyState) key(i int) []byte   { return s.keys[s.offs[i]:s.offs[i+1]] }
func (s *keyState) bytes() int64       { return int64(cap(s.keys) + 4*cap(s.offs) + 48*cap(s.recs)) }
func (s *keyState) rec(i int) stateRec { return s.recs[i] }

// stateReader walks an earlier answer's key states, with their file
// indexes mapped to the current files. It is empty without states.
type stateReader struct {
	s     *keyState
	i     int
	remap []int32
}

func newStateReader(prev *bucketResult, files []manifest.DataFile) *stateReader {
	r := &stateReader{}
	if prev == nil || prev.state == nil {
		return r
	}
	at := make(map[string]int32, len(files))
	for i, f := range files {
		at[f.Path] = int32(i)
	}
	r.remap = make([]int32, len(prev.paths))
	for i, p := range prev.paths {
		r.remap[i] = at[p] // appendedFiles checked that every one is there
	}
	r.s = prev.state
	return r
}

func (r *stateReader) more() bool { return r.s != nil && r.i < r.s.len() }

// before reports whether the current key sorts before key.
func (r *stateReader) before(key []byte) bool {
	return r.more() && bytes.Compare(r.s.key(r.i), key) < 0
}

// at reports whether the current key is key.
func (r *stateReader) at(key []byte) bool { return r.more() && bytes.Equal(r.s.key(r.i), key) }

func (r *stateReader) key() []byte { return r.s.key(r.i) }

func (r *stateReader) rec() stateRec {
	rec := r.s.rec(r.i)
	rec.src = r.remap[rec.src]
	return rec
}

// member is the current key's merged record as the oldest record of a
// merge.
func (r *stateReader) member() member {
	rec := r.rec()
	return member{src: int(rec.src), pos: rec.pos, kind: rec.kind, cached: true, cSeqVal: rec.seqVal, cTime: rec.at}
}

func (r *stateReader) skip() { r.i++ }

// stateBuilder collects key states in key order, giving up (done returns
// nil) once they would take more than budget bytes.
type stateBuilder struct {
	s      *keyState
	budget int64
}

// newStateBuilder starts a builder expecting about keys keys of keyBytes
// bytes in all (capacity hints, capped by the budget).
func newStateBuilder(budget int64, keys, keyBytes int) *stateBuilder {
	if budget <= 0 {
		return &stateBuilder{}
	}
	keys = int(min(int64(keys), budget/4/(48+4)))
	keyBytes = int(min(int64(keyBytes), budget/4))
	s := &keyState{keys: make([]byte, 0, keyBytes), offs: make([]uint32, 1, keys+1), recs: make([]stateRec, 0, keys)}
	return &stateBuilder{s: s, budget: budget}
}

func (b *stateBuilder) add(key []byte, rec stateRec) {
	if b.s == nil {
		return
	}
	if !rec.kind.IsAdd() {
		rec.at = nil
	}
	if int64(len(b.s.keys))+int64(len(key)) > math.MaxUint32 {
		b.s = nil
		return
	}
	b.s.keys = append(b.s.keys, key...)
	b.s.offs = append(b.s.offs, uint32(len(b.s.keys)))
	b.s.recs = append(b.s.recs, rec)
	if int64(len(b.s.keys)+52*len(b.s.recs)) > b.budget {
		b.s = nil
	}
}

func (b *stateBuilder) done() *keyState { return b.s }
