package manifest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// modelSeeds returns the seeds to run: the -seed flag or SILT_SEED when
// set, else n fresh ones. Every seed is logged so a failure can be
// replayed with -seed.
func modelSeeds(t *testing.T, n int) []uint64 {
	t.Helper()
	return testkit.Seeds(t, n)
}

type modelConfig struct {
	committers   int
	ops          int  // per committer
	faults       bool // install a random fault plan
	maxManifests int  // 0: random in [2, 8]
}

// modelReq is one logical commit of the model and what its committer saw.
type modelReq struct {
	commit  Commit
	outcome string // "acked", "conflict", "unknown"
	ackedID int64
}

type modelRun struct {
	t        *testing.T
	cfg      modelConfig
	seed     uint64
	fault    *objstore.Fault
	counted  *countingStore
	base     objstore.Store
	root     string
	clock    *testClock
	mu       sync.Mutex
	reqs     map[[2]string]*modelReq
	errsSeen atomic.Int64
	retries  atomic.Int64
}

// runModel runs cfg.committers concurrent committers, each with its own
// Table handle, clock skew and random source, against base (wrapped in a
// fault injector), then checks the published history against an oracle
// that replays the logical commits.
func runModel(t *testing.T, base objstore.Store, root string, seed uint64, cfg modelConfig) {
	t.Logf("seed %d (replay: go test ./manifest -run '%s' -seed %d)", seed, t.Name(), seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	if cfg.maxManifests == 0 {
		cfg.maxManifests = 2 + rng.IntN(7)
	}
	m := &modelRun{t: t, cfg: cfg, seed: seed, base: base, root: root, fault: objstore.NewFault(base),
		clock: newTestClock(1_700_000_000_000), reqs: map[[2]string]*modelReq{}}
	m.counted = newCountingStore(m.fault)
	if cfg.faults {
		m.installFaults(rng)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.committers {
		skew := rng.Int64N(600_001) - 300_000 // +-5 minutes
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.committer(i, skew, rand.New(rand.NewPCG(seed, uint64(i)+1)))
		}()
	}
	wg.Wait()
	m.fault.Clear()
	m.verify()
	failed := m.counted.Failed()
	t.Logf("%d committers x %d ops in %v: store calls failed %v; callers saw %d errors, retried %d commits",
		cfg.committers, cfg.ops, time.Since(start).Round(time.Millisecond), failed, m.errsSeen.Load(), m.retries.Load())
	if cfg.faults && (failed[objstore.OpPutIfAbsent] == 0 || failed[objstore.OpGet] == 0) {
		t.Errorf("the fault plan did not fire: %v", failed)
	}
}

// installFaults spreads one-shot faults over the expected calls of a run
// and adds a few bursts at its start.
func (m *modelRun) installFaults(rng *rand.Rand) {
	n := m.cfg.committers * m.cfg.ops
	type spec struct {
		op      objstore.Op
		key     string
		calls   int // rough number of matching calls in a run
		count   int // how many rules
		mk      func(r *objstore.Rule)
		comment string
	}
	errRule := func(r *objstore.Rule) { r.Err = objstore.ErrInjected }
	specs := []spec{
		{objstore.OpPutIfAbsent, "snapshot/snapshot-", 2 * n, n / 8, func(r *objstore.Rule) { r.ApplyThenFail = true }, "applied, reported failed"},
		{objstore.OpPutIfAbsent, "snapshot/snapshot-", 2 * n, n / 10, errRule, "snapshot put fails"},
		{objstore.OpPutIfAbsent, "manifest/", 4 * n, n / 8, errRule, "manifest write fails"},
		{objstore.OpPutIfAbsent, "manifest/", 4 * n, n / 16, func(r *objstore.Rule) { r.ApplyThenFail = true }, "manifest written, reported failed"},
		{objstore.OpGet, "snapshot/snapshot-", 6 * n, n / 8, errRule, "snapshot read fails"},
		{objstore.OpGet, "manifest/", 6 * n, n / 10, errRule, "manifest read fails"},
		{objstore.OpStat, "", 4 * n, n / 10, errRule, "stat fails"},
		{objstore.OpList, "", max(n/4, 1), 2, errRule, "list fails"},
		{objstore.OpPut, LatestHintPath, n, n / 10, errRule, "hint write fails"},
		{"", "", 20 * n, n / 4, func(r *objstore.Rule) { r.Latency = time.Duration(1+rng.IntN(2000)) * time.Microsecond }, "latency"},
	}
	for _, s := range specs {
		for range max(s.count, 1) {
			r := objstore.Rule{Op: s.op, KeyContains: s.key, Nth: 1 + rng.IntN(max(s.calls, 1))}
			s.mk(&r)
			m.fault.Add(r)
		}
	}
	// Bursts: consecutive failures from the first matching call.
	m.fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "snapshot/", Err: objstore.ErrInjected, Times: 1 + rng.IntN(4)})
	m.fault.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "manifest/", Err: objstore.ErrInjected, Times: 1 + rng.IntN(4)})
}

func (m *modelRun) register(c Commit) *modelReq {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &modelReq{commit: c, outcome: "unknown"}
	m.reqs[[2]string{c.User, c.Identifier}] = r
	return r
}

func (m *modelRun) committer(i int, skew int64, rng *rand.Rand) {
	ctx := context.Background()
	user := fmt.Sprintf("w%d", i)
	var ids atomic.Int64
	opts := Options{
		Now:            func() time.Time { return time.UnixMilli(m.clock.Advance(1+rng.Int64N(3)) + skew) },
		NewID:          func() string { return fmt.Sprintf("%s-%06d", user, ids.Add(1)) },
		MaxManifests:   m.cfg.maxManifests,
		RetryBaseDelay: 100 * time.Microsecond,
		RetryMaxDelay:  5 * time.Millisecond,
	}
	var mu sync.Mutex // rng is used by Now and by this goroutine
	now := opts.Now
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now() }
	intn := func(n int) int { mu.Lock(); defer mu.Unlock(); return rng.IntN(n) }
	tb := Open(m.counted, m.root, opts)

	for j := range m.cfg.ops {
		var c Commit
		if j > 0 && intn(10) < 3 {
			var ok bool
			if c, ok = m.compaction(ctx, tb, user, j, intn); !ok {
				continue
			}
		} else {
			c = Commit{User: user, Identifier: strconv.Itoa(j), Kind: CommitAppend, SchemaID: int64(intn(2))}
			for k := range 1 + intn(3) {
				rows := int64(1 + intn(5))
				c.Added = append(c.Added, DataFile{
					Path:     fmt.Sprintf("data/bucket-%d/%s-%d-%d.parquet", k%2, user, j, k),
					Bucket:   k % 2,
					RowCount: rows, Size: rows * 100, MinKey: []byte{byte(k)}, MaxKey: []byte{byte(k), 9},
					MinSeq: c.SeqCount, MaxSeq: c.SeqCount + rows - 1, SchemaID: c.SchemaID,
				})
				c.SeqCount += rows
			}
			c.Properties = map[string]string{"offset." + user: strconv.Itoa(j), "last": user}
			if intn(5) == 0 {
				c.Properties["scratch"] = ""
			} else if intn(5) == 0 {
				c.Properties["scratch"] = user
			}
		}
		m.commit(ctx, tb, c)
	}
}

// compaction plans a compaction of up to three of the first live files of
// a bucket; the first files are what every compactor picks, so concurrent
// compactions overlap and conflict.
func (m *modelRun) compaction(ctx context.Context, tb *Table, user string, j int, intn func(int) int) (Commit, bool) {
	var files []DataFile
	err := retry(ctx, 10, func() error {
		s, err := tb.Latest(ctx)
		if err == nil {
			files, err = tb.Files(ctx, s)
		}
		return err
	})
	if err != nil {
		m.errsSeen.Add(1)
		return Commit{}, false
	}
	bucket := intn(2)
	var in []DataFile
	for _, f := range files {
		if f.Bucket == bucket && len(in) < 1+intn(3) {
			in = append(in, f)
		}
	}
	if len(in) == 0 {
		return Commit{}, false
	}
	out := DataFile{Path: fmt.Sprintf("data/bucket-%d/%s-%d-c.parquet", bucket, user, j), Bucket: bucket,
		MinSeq: in[0].MinSeq, MaxSeq: in[0].MaxSeq, MinKey: []byte{0}, MaxKey: []byte{9}}
	for _, f := range in {
		out.RowCount += f.RowCount
		out.Size += f.Size
		out.Level = max(out.Level, f.Level+1)
		out.MinSeq = min(out.MinSeq, f.MinSeq)
		out.MaxSeq = max(out.MaxSeq, f.MaxSeq)
	}
	return Commit{User: user, Identifier: strconv.Itoa(j), Kind: CommitCompact, Added: []DataFile{out}, Deleted: in}, true
}

func retry(ctx context.Context, n int, fn func() error) error {
	var err error
	for range n {
		if err = fn(); err == nil || !errors.Is(err, objstore.ErrInjected) {
			return err
		}
	}
	return err
}

// commit runs c like a careful writer: an error other than a definite
// conflict is retried with the same identifier.
func (m *modelRun) commit(ctx context.Context, tb *Table, c Commit) {
	r := m.register(c)
	for try := 0; try < 20; try++ {
		if try > 0 {
			m.retries.Add(1)
		}
		s, err := tb.Commit(ctx, c)
		switch {
		case err == nil:
			if s.CommitUser != c.User || s.CommitIdentifier != c.Identifier {
				m.t.Errorf("commit %s/%s acknowledged with snapshot %d of %s/%s", c.User, c.Identifier, s.ID, s.CommitUser, s.CommitIdentifier)
			}
			m.mu.Lock()
			r.outcome, r.ackedID = "acked", s.ID
			m.mu.Unlock()
			m.checkAcked(ctx, tb, c, s)
			return
		case errors.Is(err, types.ErrConflict) && c.Kind == CommitCompact:
			m.mu.Lock()
			r.outcome = "conflict"
			m.mu.Unlock()
			return
		case errors.Is(err, types.ErrInvalid) || errors.Is(err, types.ErrCorruption):
			m.t.Errorf("commit %s/%s: %v", c.User, c.Identifier, err)
			return
		}
		m.errsSeen.Add(1)
	}
}

// checkAcked reads an acknowledged snapshot back at once.
func (m *modelRun) checkAcked(ctx context.Context, tb *Table, c Commit, s *Snapshot) {
	var files []DataFile
	if err := retry(ctx, 10, func() (err error) { files, err = tb.Files(ctx, s); return err }); err != nil {
		m.errsSeen.Add(1)
		return
	}
	live := map[string]bool{}
	for _, f := range files {
		live[f.Path] = true
	}
	for _, f := range c.Added {
		if !live[f.Path] {
			m.t.Errorf("acknowledged snapshot %d lacks added file %s", s.ID, f.Path)
		}
	}
	for _, f := range c.Deleted {
		if live[f.Path] {
			m.t.Errorf("acknowledged snapshot %d still has deleted file %s", s.ID, f.Path)
		}
	}
}

// verify checks the published history against the logical commits.
func (m *modelRun) verify() {
	t := m.t
	ctx := context.Background()
	tb := Open(m.base, m.root, Options{})
	snaps, err := tb.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 || latest == nil || latest.ID != int64(len(snaps)) {
		t.Fatalf("%d snapshots, latest %v", len(snaps), latest)
	}

	seen := map[[2]string]int64{}
	live := map[string]DataFile{}
	props := map[string]string{}
	var nextSeq, total, prevTime int64
	for i, s := range snaps {
		if s.ID != int64(i+1) || s.ParentID != s.ID-1 {
			t.Fatalf("snapshot ids not contiguous from 1: position %d holds %d (parent %d)", i, s.ID, s.ParentID)
		}
		key := [2]string{s.CommitUser, s.CommitIdentifier}
		r := m.reqs[key]
		if r == nil {
			t.Fatalf("snapshot %d holds unknown commit %v", s.ID, key)
		}
		if prev, dup := seen[key]; dup {
			t.Fatalf("commit %v applied twice: snapshots %d and %d", key, prev, s.ID)
		}
		seen[key] = s.ID
		if s.TimeMillis < prevTime {
			t.Fatalf("snapshot %d time %d before its parent's %d", s.ID, s.TimeMillis, prevTime)
		}
		prevTime = s.TimeMillis

		// Apply the logical commit to the oracle.
		c := r.commit
		for _, d := range c.Deleted {
			if _, ok := live[d.Path]; !ok {
				t.Fatalf("snapshot %d (%v) deletes %s which was not live", s.ID, key, d.Path)
			}
			total -= live[d.Path].RowCount
			delete(live, d.Path)
		}
		for _, a := range c.Added {
			if c.Kind != CommitCompact {
				a.SeqBase = nextSeq
				a.MinSeq += nextSeq
				a.MaxSeq += nextSeq
			}
			live[a.Path] = a
			total += a.RowCount
		}
		nextSeq += c.SeqCount
		maps.Copy(props, c.Properties)
		maps.DeleteFunc(props, func(_, v string) bool { return v == "" })
		if s.NextSequence != nextSeq || s.TotalRecordCount != total {
			t.Fatalf("snapshot %d: next sequence %d total %d, oracle %d and %d", s.ID, s.NextSequence, s.TotalRecordCount, nextSeq, total)
		}
		if !reflect.DeepEqual(s.Properties, props) && !(len(s.Properties) == 0 && len(props) == 0) {
			t.Fatalf("snapshot %d properties %v, oracle %v", s.ID, s.Properties, props)
		}
		metas, err := tb.ReadManifestList(ctx, s.ManifestList)
		if err != nil {
			t.Fatalf("snapshot %d: %v", s.ID, err)
		}
		if len(metas) > m.cfg.maxManifests {
			t.Fatalf("snapshot %d has %d manifests > %d", s.ID, len(metas), m.cfg.maxManifests)
		}
		files, err := tb.Files(ctx, s)
		if err != nil {
			t.Fatalf("snapshot %d unreadable: %v", s.ID, err)
		}
		if want := sortedFiles(live); !reflect.DeepEqual(files, want) {
			t.Fatalf("snapshot %d live files\n got %v\nwant %v", s.ID, paths(files), paths(want))
		}
	}
	// Sequence ranges of appends never overlap: file ranges lie inside
	// their commit's [parent.NextSequence, NextSequence).
	for i, s := range snaps {
		var lo int64
		if i > 0 {
			lo = snaps[i-1].NextSequence
		}
		c := m.reqs[[2]string{s.CommitUser, s.CommitIdentifier}].commit
		for _, a := range c.Added {
			if c.Kind != CommitCompact && (a.MinSeq+lo < lo || a.MaxSeq+lo >= s.NextSequence) {
				t.Fatalf("snapshot %d: file %s sequence range outside [%d, %d)", s.ID, a.Path, lo, s.NextSequence)
			}
		}
	}

	var acked, conflicts, unknown int
	for key, r := range m.reqs {
		id, in := seen[key]
		switch r.outcome {
		case "acked":
			acked++
			if !in || id != r.ackedID {
				t.Fatalf("acknowledged commit %v (snapshot %d) is not in the history (found at %d)", key, r.ackedID, id)
			}
		case "conflict":
			conflicts++
			if in {
				t.Fatalf("commit %v failed with ErrConflict but was published as snapshot %d", key, id)
			}
		default:
			unknown++
		}
	}
	m.checkAsOf(tb, snaps)
	t.Logf("%d snapshots (max %d manifests): %d acknowledged, %d compaction conflicts, %d unresolved", len(snaps), m.cfg.maxManifests, acked, conflicts, unknown)
}

// checkAsOf checks time travel with skewed committer clocks: every
// snapshot is reachable and resolution is monotonic in time.
func (m *modelRun) checkAsOf(tb *Table, snaps []*Snapshot) {
	t := m.t
	ctx := context.Background()
	if _, err := tb.SnapshotAsOf(ctx, snaps[0].TimeMillis-1); !errors.Is(err, types.ErrNotFound) {
		t.Fatalf("as of before the first snapshot: %v", err)
	}
	for i, s := range snaps {
		got, err := tb.SnapshotAsOf(ctx, s.TimeMillis)
		if err != nil {
			t.Fatal(err)
		}
		// The newest snapshot sharing s's time.
		want := s.ID
		for _, n := range snaps[i+1:] {
			if n.TimeMillis == s.TimeMillis {
				want = n.ID
			}
		}
		if got.ID != want {
			t.Fatalf("as of %d: snapshot %d, want %d", s.TimeMillis, got.ID, want)
		}
	}
	rng := rand.New(rand.NewPCG(m.seed, 99))
	lo, hi := snaps[0].TimeMillis-10, snaps[len(snaps)-1].TimeMillis+10
	probes := make([]int64, 50)
	for i := range probes {
		probes[i] = lo + rng.Int64N(hi-lo)
	}
	sort.Slice(probes, func(i, j int) bool { return probes[i] < probes[j] })
	var last int64
	for _, p := range probes {
		s, err := tb.SnapshotAsOf(ctx, p)
		if errors.Is(err, types.ErrNotFound) && last == 0 {
			continue
		}
		if err != nil || s.ID < last || s.TimeMillis > p {
			t.Fatalf("as of %d: %v, %v (previous probe resolved to %d)", p, s, err, last)
		}
		last = s.ID
	}
}

// TestModel is the randomized model test of crashes during commits,
// commits whose outcome is unknown, concurrent committers and clock skew:
// concurrent appenders and compactors under injected faults and skewed
// clocks, checked against an oracle.
func TestModel(t *testing.T) {
	n := 3
	if testing.Short() {
		n = 1
	}
	for _, seed := range modelSeeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runModel(t, objstore.NewMem(), "wh/db.db/t/", seed, modelConfig{committers: 4, ops: 60, faults: true})
		})
	}
}

// TestConcurrentCommits is the fault-free concurrent-commit test; see also
// TestConcurrentCommitsS3.
func TestConcurrentCommits(t *testing.T) {
	for _, seed := range modelSeeds(t, 1) {
		runModel(t, objstore.NewMem(), "t/", seed, modelConfig{committers: 6, ops: 40})
	}
}
