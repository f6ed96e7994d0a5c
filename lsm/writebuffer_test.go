package lsm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/types"
)

// order is a merger that lists the merged records' Row[1] tags in the
// order Merge saw them.
type order struct{}

func (order) Merge(recs []Record) Record {
	var tags []string
	for _, r := range recs {
		tags = append(tags, r.Row[1].(string))
	}
	last := recs[len(recs)-1]
	return Record{Key: last.Key, Seq: last.Seq, Kind: last.Kind, Row: types.Row{last.Row[0], fmt.Sprint(tags)}}
}

// TestWriteBufferFlushOrder: Flush hands each key's records to the merger
// in (Seq, order added) order, including records with equal Seq, and
// returns one record per key in key order.
func TestWriteBufferFlushOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for it := range 20 {
		wb := NewWriteBuffer()
		type added struct {
			seq int64
			tag string
		}
		want := map[string][]added{}
		for i := range rng.IntN(3000) {
			k := []byte{byte(rng.IntN(50))}
			a := added{seq: rng.Int64N(20), tag: fmt.Sprintf("t%d", i)} // many equal Seqs
			want[string(k)] = append(want[string(k)], a)
			wb.Add(Record{Key: k, Seq: a.seq, Kind: types.Insert, Row: types.Row{string(k), a.tag}})
		}
		got := wb.Flush(order{})
		if len(got) != len(want) {
			t.Fatalf("run %d: %d keys, want %d", it, len(got), len(want))
		}
		for i, r := range got {
			if i > 0 && string(got[i-1].Key) >= string(r.Key) {
				t.Fatalf("run %d: keys out of order", it)
			}
			w := want[string(r.Key)]
			slices.SortStableFunc(w, func(a, b added) int { return int(a.seq - b.seq) })
			var tags []string
			for _, a := range w {
				tags = append(tags, a.tag)
			}
			if r.Row[1] != fmt.Sprint(tags) {
				t.Fatalf("run %d: key %x merged %v, want %v", it, r.Key, r.Row[1], tags)
			}
		}
	}
}
