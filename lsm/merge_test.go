package lsm

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/types"
)

func sliceSource(recs []Record) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func rec(key string, seq int64, kind types.RowKind, v any) Record {
	return Record{Key: []byte(key), Seq: seq, Kind: kind, Row: types.Row{key, v}}
}

func collect(t *testing.T, it iter.Seq2[Record, error]) ([]Record, error) {
	t.Helper()
	var out []Record
	for r, err := range it {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func TestMergeRunsLastWins(t *testing.T) {
	ctx := context.Background()
	runs := [][]Record{
		{rec("a", 1, types.Insert, 1), rec("b", 2, types.Insert, 1), rec("d", 3, types.Insert, 1)},
		{rec("a", 5, types.UpdateAfter, 2), rec("c", 4, types.Insert, 1), rec("d", 6, types.Delete, nil)},
		{},
		{rec("b", 7, types.UpdateBefore, nil), rec("e", 8, types.Insert, 1)},
	}
	srcs := make([]iter.Seq2[Record, error], len(runs))
	for i, r := range runs {
		srcs[i] = sliceSource(r)
	}
	got, err := collect(t, MergeRuns(ctx, srcs, lastWins{}, false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a:5", "c:4", "e:8"}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %v", len(got), want)
	}
	for i, r := range got {
		if s := string(r.Key) + ":" + string(rune('0'+r.Seq)); s != want[i] || !r.Merged {
			t.Fatalf("record %d = %s, want %s", i, debugRecord(r), want[i])
		}
	}
	got, err = collect(t, MergeRuns(ctx, srcs, lastWins{}, true))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[1].Kind != types.Delete || got[3].Kind != types.Delete {
		t.Fatalf("keepDeletes: got %v", got)
	}
}

func TestMergeRunsErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	failing := func(yield func(Record, error) bool) {
		if yield(rec("a", 1, types.Insert, 1), nil) {
			yield(Record{}, boom)
		}
	}
	good := sliceSource([]Record{rec("a", 2, types.Insert, 1), rec("b", 3, types.Insert, 1)})
	if _, err := collect(t, MergeRuns(ctx, []iter.Seq2[Record, error]{good, failing}, lastWins{}, false)); !errors.Is(err, boom) {
		t.Fatalf("want the source's error, got %v", err)
	}
	unsorted := sliceSource([]Record{rec("b", 1, types.Insert, 1), rec("a", 2, types.Insert, 1)})
	if _, err := collect(t, MergeRuns(ctx, []iter.Seq2[Record, error]{unsorted}, lastWins{}, false)); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("want ErrInvalid for an unsorted source, got %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := collect(t, MergeRuns(cctx, []iter.Seq2[Record, error]{good}, lastWins{}, false)); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	// Stopping early stops the sources.
	stopped := 0
	counting := func(yield func(Record, error) bool) {
		defer func() { stopped++ }()
		for i := range 100 {
			if !yield(rec(string(rune('a'+i)), int64(i), types.Insert, 1), nil) {
				return
			}
		}
	}
	for range MergeRuns(ctx, []iter.Seq2[Record, error]{counting, counting}, lastWins{}, false) {
		break
	}
	if stopped != 2 {
		t.Fatalf("%d of 2 sources stopped after an early break", stopped)
	}
}

// TestMergeRunsRandom merges random sorted runs, some pre-merged through a
// write buffer, with an associative merger that lists the merged sequence
// numbers, and checks that every key lists exactly its records in order.
func TestMergeRunsRandom(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	for it := 0; it < 50; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		nkeys := 1 + rng.IntN(40)
		nrecs := rng.IntN(400)
		want := map[string][]int64{}
		var all []Record
		for seq := int64(0); seq < int64(nrecs); seq++ {
			k := []byte{byte(rng.IntN(nkeys)), 0, byte(rng.IntN(2))}
			all = append(all, Record{Key: k, Seq: seq, Kind: types.Insert, Row: types.Row{string(k), nil}})
			want[string(k)] = append(want[string(k)], seq)
		}
		// Split the changelog into contiguous runs; flush some through a
		// write buffer.
		var srcs []iter.Seq2[Record, error]
		for len(all) > 0 {
			n := min(len(all), 1+rng.IntN(100))
			part := all[:n]
			all = all[n:]
			if rng.IntN(2) == 0 {
				wb := NewWriteBuffer()
				for _, r := range slices.Backward(part) { // out of order on purpose
					wb.Add(r)
				}
				if wb.Len() != n || wb.ApproxBytes() <= 0 {
					t.Fatalf("buffer Len %d ApproxBytes %d", wb.Len(), wb.ApproxBytes())
				}
				part = wb.Flush(seqList{})
				if wb.Len() != 0 || wb.ApproxBytes() != 0 {
					t.Fatal("Flush did not empty the buffer")
				}
			} else {
				part = slices.Clone(part)
				slices.SortStableFunc(part, func(a, b Record) int { return compareRecords(&a, &b) })
			}
			srcs = append(srcs, sliceSource(part))
		}
		got, err := collect(t, MergeRuns(ctx, srcs, seqList{}, false))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("run %d: %d keys merged, want %d", it, len(got), len(want))
		}
		for i, r := range got {
			if i > 0 && bytes.Compare(got[i-1].Key, r.Key) >= 0 {
				t.Fatalf("run %d: keys out of order", it)
			}
			if seqs := r.Row[1].([]int64); !slices.Equal(seqs, want[string(r.Key)]) {
				t.Fatalf("run %d: key %x merged %v, want %v", it, r.Key, seqs, want[string(r.Key)])
			}
		}
	}
}
