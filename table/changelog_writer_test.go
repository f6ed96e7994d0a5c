package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// collectChanges reads Changes(from, to) into a slice.
func collectChanges(t *testing.T, ctx context.Context, tb *Table, from, to *manifest.Snapshot) []Change {
	t.Helper()
	var out []Change
	for c, err := range tb.Changes(ctx, from, to) {
		if err != nil {
			t.Fatalf("changes: %v", err)
		}
		out = append(out, c)
	}
	return out
}

type keyedChange struct {
	kind types.RowKind
	row  types.Row
}

func changesByKey(cs []Change) map[modelKey][]keyedChange {
	out := map[modelKey][]keyedChange{}
	for _, c := range cs {
		k := modelKey{c.Row[0].(string), c.Row[1].(int32)}
		out[k] = append(out[k], keyedChange{c.Kind, c.Row})
	}
	return out
}

func fmtChanges(cs []keyedChange) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s%v", c.kind, c.row)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkLookupChangelog checks the exact changelog spec of the lookup
// producer, key by key: +I(after) for a new key, -D(before) for a removed
// one, -U(before) +U(after) for a changed one, nothing otherwise.
func checkLookupChangelog(prev, next map[modelKey]types.Row, cs []Change) error {
	got := changesByKey(cs)
	keys := map[modelKey]bool{}
	for k := range prev {
		keys[k] = true
	}
	for k := range next {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var errs []string
	for k := range keys {
		b, hadB := prev[k]
		a, hasA := next[k]
		var want []keyedChange
		switch {
		case !hadB && hasA:
			want = []keyedChange{{types.Insert, a}}
		case hadB && !hasA:
			want = []keyedChange{{types.Delete, b}}
		case hadB && hasA && !rowsEqual(a, b):
			want = []keyedChange{{types.UpdateBefore, b}, {types.UpdateAfter, a}}
		}
		g := got[k]
		ok := len(g) == len(want)
		for i := 0; ok && i < len(g); i++ {
			ok = g[i].kind == want[i].kind && rowsEqual(g[i].row, want[i].row)
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("key %v: got %s want %s", k, fmtChanges(g), fmtChanges(want)))
		}
	}
	if len(errs) > 0 {
		if len(errs) > 8 {
			errs = append(errs[:8], fmt.Sprintf("… %d more", len(errs)-8))
		}
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// applyChanges applies changes to a copy of state as a deduplicating
// changelog consumer: +I/+U set the row, -U/-D remove the key.
func applyChanges(state map[modelKey]types.Row, cs []Change) map[modelKey]types.Row {
	out := make(map[modelKey]types.Row, len(state))
	for k, v := range state {
		out[k] = v
	}
	for _, c := range cs {
		k := modelKey{c.Row[0].(string), c.Row[1].(int32)}
		if c.Kind.IsAdd() {
			out[k] = c.Row
		} else {
			delete(out, k)
		}
	}
	return out
}

// TestChangelogProducerRandom writes random commits (mixed row kinds, or
// +I only) through a writer with a changelog producer and checks, commit by
// commit, the changes Table.Changes reads from the changelog files against
// an oracle: for lookup, the exact per-key spec (so a deduplicate table fed
// only +I rows must show every update as -U/+U with the before-image) and
// that applying them to the previous state gives the new one; for input,
// that they are the rows as written.
func TestChangelogProducerRandom(t *testing.T) {
	seed := testSeed(t)
	type tc struct {
		producer, engine string
		insertOnly       bool
	}
	var cases []tc
	for _, e := range []string{"deduplicate", "partial-update", "aggregation", "first-row"} {
		for _, io := range []bool{false, true} {
			cases = append(cases, tc{ProducerLookup, e, io})
		}
	}
	cases = append(cases, tc{ProducerInput, "deduplicate", false}, tc{ProducerInput, "deduplicate", true})
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/insertOnly=%v", c.producer, c.engine, c.insertOnly)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(len(name))*7919+uint64(name[0])))
			runChangelogModel(t, rng, objstore.NewMem(), c.producer, c.engine, c.insertOnly, 8, 40)
		})
	}
}

// TestChangelogProducerS3 runs the lookup producer against S3 (MinIO).
func TestChangelogProducerS3(t *testing.T) {
	store := s3test.NewStore(t)
	seed := testSeed(t)
	runChangelogModel(t, rand.New(rand.NewPCG(seed, 3)), store, ProducerLookup, "partial-update", false, 5, 30)
}

func runChangelogModel(t *testing.T, rng *rand.Rand, store objstore.Store, producer, engine string, insertOnly bool, commits, keys int) {
	ctx := context.Background()
	schema := modelSchema(engine, 1+rng.IntN(3), rng.IntN(2) == 0)
	schema.Options[OptChangelogProducer] = producer
	var env Env
	if rng.IntN(2) == 0 {
		env.LocalDir = t.TempDir() // before-images through LookupRecord
	}
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, env)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{engine: engine, state: map[modelKey]types.Row{}}
	var prevSnap *manifest.Snapshot
	w := tb.NewWriter("model")
	defer func() { _ = w.Close(ctx) }() // background compactions end with the test
	for c := 1; c <= commits; c++ {
		if rng.IntN(2) == 0 {
			w.cl.lookupKeys = 1 // before-images by merging the bucket's files
		} else {
			w.cl.lookupKeys = 0
		}
		prev := m.clone()
		var written []Change
		n := 1 + rng.IntN(100)
		for i := 0; i < n; i++ {
			r := randRow(rng, keys)
			kind := types.Insert
			if !insertOnly {
				switch p := rng.IntN(10); {
				case p < 2:
					kind = types.Delete
				case p < 3 && engine != "aggregation":
					kind = types.UpdateBefore
				case p < 5:
					kind = types.UpdateAfter
				}
			}
			if err := w.Write(ctx, kind, r); err != nil {
				t.Fatalf("write %v %v: %v", kind, r, err)
			}
			m.apply(kind, r)
			written = append(written, Change{Kind: kind, Row: r})
		}
		snap, err := w.Commit(ctx, fmt.Sprint(c))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, ctx, tb, snap.ID); diffStates(got, m.state) != "" {
			t.Fatalf("commit %d: table differs from the model:\n%s", c, diffStates(got, m.state))
		}
		cl, err := tb.Meta().ChangelogFiles(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		changed := diffStates(prev, m.state) != ""
		if (producer == ProducerInput || changed) && len(cl) == 0 {
			t.Fatalf("commit %d (snapshot %d): no changelog files", c, snap.ID)
		}
		for _, f := range cl {
			if !strings.HasPrefix(f.Path, "data/") || !strings.Contains(f.Path, fmt.Sprintf("bucket-%d/changelog-", f.Bucket)) {
				t.Fatalf("changelog file %s is not a changelog-* file in its bucket folder", f.Path)
			}
		}
		cs := collectChanges(t, ctx, tb, prevSnap, snap)
		for _, ch := range cs {
			if ch.SnapshotID != snap.ID {
				t.Fatalf("commit %d: change %v labelled snapshot %d, want %d", c, ch, ch.SnapshotID, snap.ID)
			}
		}
		switch producer {
		case ProducerLookup:
			if err := checkLookupChangelog(prev, m.state, cs); err != nil {
				t.Fatalf("commit %d (snapshot %d, %d rows written): changelog is not exact:\n%s", c, snap.ID, n, err)
			}
			if got := applyChanges(prev, cs); diffStates(got, m.state) != "" {
				t.Fatalf("commit %d: previous state + changelog != new state:\n%s", c, diffStates(got, m.state))
			}
		case ProducerInput:
			// The rows as written, per key in write order.
			got, want := changesByKey(cs), changesByKey(written)
			for k, wc := range want {
				if fmtChanges(got[k]) != fmtChanges(wc) {
					t.Fatalf("commit %d: key %v: changelog %s, written %s", c, k, fmtChanges(got[k]), fmtChanges(wc))
				}
			}
			if len(cs) != len(written) {
				t.Fatalf("commit %d: %d changelog rows, %d written", c, len(cs), len(written))
			}
			if got := applyChanges(prev, cs); diffStates(got, m.state) != "" {
				t.Fatalf("commit %d: previous state + changelog != new state:\n%s", c, diffStates(got, m.state))
			}
		}
		prevSnap = snap
	}
}

// lookupTable opens a deduplicate table with the lookup producer.
func lookupTable(t *testing.T, store objstore.Store) *Table {
	t.Helper()
	s := simpleSchema(1)
	s.Options[OptChangelogProducer] = ProducerLookup
	tb, err := Open("db.t", store, "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func changeStrings(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s%v", c.Kind, c.Row)
	}
	return out
}

// TestChangelogLookupConflict: another writer commits the same key after
// the before-images were read and before the commit lands. The commit's
// Check notices, the changelog is recomputed against the new snapshot and
// is exact; a COMPACT in between does not force a recomputation.
func TestChangelogLookupConflict(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb := lookupTable(t, store)
	a := tb.NewWriter("a")
	t.Cleanup(func() { _ = a.Close(ctx) })
	mustWrite(t, a, types.Insert, types.Row{int64(1), "a1"})
	mustWrite(t, a, types.Insert, types.Row{int64(2), "a1"})
	s1, err := a.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}

	// Writer b commits inside a's first commit attempt, after a read its
	// before-images (a's Check runs then).
	mustWrite(t, a, types.Insert, types.Row{int64(1), "a2"})
	fired := false
	s3, err := a.CommitWith(ctx, CommitRequest{Identifier: "2", Check: func(*manifest.Snapshot) error {
		if !fired {
			fired = true
			b := tb.NewWriter("b")
			mustWrite(t, b, types.Insert, types.Row{int64(1), "b"})
			mustWrite(t, b, types.Delete, types.Row{int64(2), nil})
			if _, err := b.Commit(ctx, "b1"); err != nil {
				t.Errorf("writer b: %v", err)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a.cl.attempts != 1 {
		t.Errorf("recomputations: %d, want 1", a.cl.attempts)
	}
	if s3.ID != 3 {
		t.Fatalf("a's commit is snapshot %d, want 3 (after b's)", s3.ID)
	}
	got := changeStrings(collectChanges(t, ctx, tb, s1, s3))
	// b's commit, then a's, whose before-image is b's row.
	want := []string{"-U[1 a1]", "+U[1 b]", "-D[2 a1]", "-U[1 b]", "+U[1 a2]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes: got %v want %v", got, want)
	}
	cl, err := tb.Meta().ChangelogFiles(ctx, s3)
	if err != nil || len(cl) == 0 {
		t.Fatalf("snapshot 3 has no changelog files (%v)", err)
	}

	// A COMPACT commit in between keeps the before-images valid.
	mustWrite(t, a, types.Insert, types.Row{int64(1), "a3"})
	a.cl.attempts = 0
	fired = false
	s5, err := a.CommitWith(ctx, CommitRequest{Identifier: "3", Check: func(*manifest.Snapshot) error {
		if !fired {
			fired = true
			if _, err := tb.Compact(ctx, CompactOptions{Full: true, User: "compactor"}); err != nil {
				t.Errorf("compact: %v", err)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a.cl.attempts != 0 {
		t.Errorf("a COMPACT in between caused %d recomputations", a.cl.attempts)
	}
	if got := changeStrings(collectChanges(t, ctx, tb, s3, s5)); fmt.Sprint(got) != "[-U[1 a2] +U[1 a3]]" {
		t.Fatalf("changes after compaction: %v", got)
	}
}

// TestChangelogLookupGivesUp: a writer that loses to another writer of the
// same bucket on every attempt gives up with ErrConflict after
// maxChangelogAttempts and leaves no changelog files behind.
func TestChangelogLookupGivesUp(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	tb := lookupTable(t, store)
	a := tb.NewWriter("a")
	mustWrite(t, a, types.Insert, types.Row{int64(1), "a"})
	n := 0
	_, err := a.CommitWith(ctx, CommitRequest{Identifier: "1", Check: func(*manifest.Snapshot) error {
		n++
		b := tb.NewWriter("b")
		mustWrite(t, b, types.Insert, types.Row{int64(1), fmt.Sprint("b", n)})
		if _, err := b.Commit(ctx, fmt.Sprint(n)); err != nil {
			t.Errorf("writer b: %v", err)
		}
		return nil
	}})
	if !errors.Is(err, types.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	if a.cl.attempts != maxChangelogAttempts-1 {
		t.Errorf("recomputations: %d, want %d", a.cl.attempts, maxChangelogAttempts-1)
	}
	// Every changelog file in the store belongs to one of b's snapshots.
	published := map[string]bool{}
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		cl, err := tb.Meta().ChangelogFiles(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range cl {
			published[f.Path] = true
		}
	}
	infos, err := store.List(ctx, "t/data/")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if rel := strings.TrimPrefix(in.Key, "t/"); strings.Contains(rel, "/changelog-") && !published[rel] {
			t.Errorf("unpublished changelog file %s left behind", rel)
		}
	}
	// The writer can still commit once b stops.
	if _, err := a.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCommitProducer measures a commit of b.N upserts of existing keys
// (+I only) into a table of 20000 keys, per changelog producer.
func BenchmarkCommitProducer(b *testing.B) {
	for _, producer := range []string{ProducerNone, ProducerInput, ProducerLookup, "lookup-join"} {
		b.Run(producer, func(b *testing.B) {
			join := producer == "lookup-join"
			if join {
				producer = ProducerLookup
			}
			ctx := context.Background()
			s := simpleSchema(4)
			s.Options[OptChangelogProducer] = producer
			tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
			if err != nil {
				b.Fatal(err)
			}
			w := tb.NewWriter("w")
			if join {
				w.cl.lookupKeys = 1
			}
			for i := int64(0); i < 20000; i++ {
				if err := w.Write(ctx, types.Insert, types.Row{i, "v0"}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := w.Commit(ctx, "load"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := w.Write(ctx, types.Insert, types.Row{int64(i % 20000), fmt.Sprint("v", i)}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := w.Commit(ctx, "upserts"); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestChangelogInputAbort: the input producer's changelog files uploaded by
// a flush are deleted by Abort with the data files, and a later commit
// carries only its own rows.
func TestChangelogInputAbort(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMem()
	s := simpleSchema(2)
	s.Options[OptChangelogProducer] = ProducerInput
	tb, err := Open("db.t", store, "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for i := int64(0); i < 10; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "dropped"})
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if infos, _ := store.List(ctx, "t/data/"); len(infos) != 4 {
		t.Fatalf("after a flush of 2 buckets: %d files, want 2 data + 2 changelog", len(infos))
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if infos, _ := store.List(ctx, "t/data/"); len(infos) != 0 {
		t.Fatalf("Abort left %d files", len(infos))
	}
	mustWrite(t, w, types.Insert, types.Row{int64(1), "kept"})
	mustWrite(t, w, types.Delete, types.Row{int64(1), nil})
	snap, err := w.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(changeStrings(collectChanges(t, ctx, tb, nil, snap))); got != "[+I[1 kept] -D[1 <nil>]]" {
		t.Fatalf("changes: %s", got)
	}
}

// TestChangelogLookupOtherBucket: a commit to another bucket between the
// before-images and the commit does not invalidate them (one writer per
// bucket is the expectation, not one per table); one to the same bucket
// does.
func TestChangelogLookupOtherBucket(t *testing.T) {
	ctx := context.Background()
	s := simpleSchema(4)
	s.Options[OptChangelogProducer] = ProducerLookup
	tb, err := Open("db.t", objstore.NewMem(), "t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	bucket := func(id int64) int {
		b, err := tb.bucketOf(types.Row{id, nil})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other := int64(1)
	for bucket(other) == bucket(0) {
		other++
	}
	a := tb.NewWriter("a")
	t.Cleanup(func() { _ = a.Close(ctx) })
	mustWrite(t, a, types.Insert, types.Row{int64(0), "a1"})
	prev, err := a.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		key      int64
		attempts int
	}{{other, 0}, {0, 1}} {
		mustWrite(t, a, types.Insert, types.Row{int64(0), fmt.Sprint("a", i+2)})
		a.cl.attempts = 0
		fired := false
		snap, err := a.CommitWith(ctx, CommitRequest{Identifier: fmt.Sprint("a", i), Check: func(*manifest.Snapshot) error {
			if !fired {
				fired = true
				b := tb.NewWriter("b")
				mustWrite(t, b, types.Insert, types.Row{tc.key, "b"})
				if _, err := b.Commit(ctx, fmt.Sprint("b", i)); err != nil {
					t.Errorf("writer b: %v", err)
				}
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if a.cl.attempts != tc.attempts {
			t.Errorf("b wrote key %d (bucket %d; a writes bucket %d): %d recomputations, want %d", tc.key, bucket(tc.key), bucket(0), a.cl.attempts, tc.attempts)
		}
		cs := collectChanges(t, ctx, tb, prev, snap)
		want := map[int64][]string{
			other: {fmt.Sprintf("+I[%d b]", other), "-U[0 a1]", "+U[0 a2]"},
			0:     {"-U[0 a2]", "+U[0 b]", "-U[0 b]", "+U[0 a3]"},
		}[tc.key]
		got := changeStrings(cs)
		// Order across buckets follows bucket numbers; compare as sets
		// per snapshot by sorting.
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: changes %v, want %v", i, got, want)
		}
		prev = snap
	}
}
