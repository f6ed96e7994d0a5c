package table

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Inline compaction and the write stall. Each Writer has a compactManager.
// After every commit, the buckets the commit added level-0 files to and
// that reached num-sorted-run.compaction-trigger are queued for compaction
// in the background. Up to compaction.max-concurrent workers take queued
// buckets one at a time, the most urgent first (a bucket a writer is
// stalled on, then the one with the most sorted runs); each plans its
// bucket from the latest snapshot, executes the plan and commits it as a
// COMPACT snapshot of its own, so a stalled writer is released as soon as
// its bucket is done rather than after every due bucket. A bucket is
// compacted by one round at a time. A Write or Commit touching a bucket
// with num-sorted-run.stop-trigger sorted runs or more blocks until the
// count is below it again: without write-only it has the bucket compacted
// at once by the helper, a compaction beyond the workers that uses the
// writer's idle core (so a writer runs at most compaction.max-concurrent +
// 1 compactions, the extra one only while the writer waits), or, when a
// worker is busy with the bucket, forces another round of it and waits,
// while the helper, if free, compacts the next queued bucket; with
// write-only it polls the latest snapshot until a standalone compactor has
// caught up. Close, whose goroutine is idle too, has the helper compact the
// queued buckets beside the workers until none is left.
//
// Sorted-run counts are loaded from the latest snapshot at the writer's
// first commit and after every compaction round, and advanced by the
// writer's own commits in between.

// Stall polling of write-only writers.
const (
	stallPollMin = 50 * time.Millisecond
	stallPollMax = 2 * time.Second
)

type compactManager struct {
	t       *Table
	opts    CompactionOptions
	comp    *compaction.Compactor // nil when the options are unusable
	compErr error

	ctx    context.Context // of background rounds; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	loaded  bool
	runs    map[compaction.BucketID]int
	pending map[compaction.BucketID]bool
	forced  map[compaction.BucketID]bool
	active  map[compaction.BucketID]bool  // being compacted by a worker
	errs    map[compaction.BucketID]error // of each bucket's last round
	// rounds counts each bucket's finished rounds: a stalled writer judges
	// a round's error only once a round of its bucket ended after it asked.
	rounds map[compaction.BucketID]int64
	// refreshing counts refreshes in flight; while any is, own remembers
	// the writer's commits so that a refresh that read an older snapshot
	// does not lose them.
	refreshing int
	own        []ownCommit
	workers    int           // running workers
	helping    bool          // the helper is running (see help and helpQueued)
	closing    bool          // Close is waiting: the helper takes queued buckets
	changed    chan struct{} // closed (and replaced) when a round ends
	stats      compactStats
}

// ownCommit is a commit of the writer: its snapshot and level-0 files.
type ownCommit struct {
	snap  int64
	files []manifest.DataFile
}

type compactStats struct {
	rounds, compactions, conflicts, failures int64
	bytesRead, bytesWritten                  int64
	stalls                                   int64
	stallTime                                time.Duration
}

func newCompactManager(t *Table, user string) *compactManager {
	ctx, cancel := context.WithCancel(context.Background())
	m := &compactManager{
		t: t, opts: t.opts.Compaction, ctx: ctx, cancel: cancel,
		runs: map[compaction.BucketID]int{}, pending: map[compaction.BucketID]bool{},
		forced: map[compaction.BucketID]bool{}, active: map[compaction.BucketID]bool{},
		errs: map[compaction.BucketID]error{}, rounds: map[compaction.BucketID]int64{},
		changed: make(chan struct{}),
	}
	m.comp, m.compErr = t.NewCompactor(user + "-compact")
	return m
}

// compactions returns the writer's compaction manager.
func (w *Writer) compactions() *compactManager {
	if w.cm == nil {
		w.cm = newCompactManager(w.t, w.user)
	}
	return w.cm
}

// stall blocks while bucket id has stop-trigger sorted runs or more.
func (m *compactManager) stall(ctx context.Context, id compaction.BucketID) error {
	m.mu.Lock()
	n := m.runs[id]
	m.mu.Unlock()
	if n < m.opts.StopTrigger {
		return nil
	}
	return m.waitBelow(ctx, id)
}

// beforeCommit loads the sorted-run counts at the writer's first commit
// and stalls on every bucket the commit adds files to. A failure to load
// the counts skips the stall (it is retried at the next commit): the
// stall protects reads, it must not make commits fail.
func (m *compactManager) beforeCommit(ctx context.Context, files []manifest.DataFile) error {
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	if !loaded {
		if err := m.refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
	}
	for _, id := range bucketsOf(files) {
		if err := m.stall(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// afterCommit counts the level-0 files committed as snapshot snap and
// starts compactions of the buckets that reached the trigger.
func (m *compactManager) afterCommit(snap *manifest.Snapshot, files []manifest.DataFile) {
	m.mu.Lock()
	if !m.loaded {
		m.mu.Unlock()
		return
	}
	addRuns(m.runs, files)
	if m.refreshing > 0 {
		m.own = append(m.own, ownCommit{snap.ID, files})
	}
	var due []compaction.BucketID
	for _, id := range bucketsOf(files) {
		if m.runs[id] >= m.opts.Trigger {
			due = append(due, id)
		}
	}
	m.mu.Unlock()
	if len(due) > 0 && !m.opts.WriteOnly && m.comp != nil {
		m.trigger(due, false)
	}
}

func bucketsOf(files []manifest.DataFile) []compaction.BucketID {
	var ids []compaction.BucketID
	seen := map[compaction.BucketID]bool{}
	for _, f := range files {
		id := compaction.BucketID{Partition: f.Partition, Bucket: f.Bucket}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func addRuns(runs map[compaction.BucketID]int, files []manifest.DataFile) {
	for _, f := range files {
		runs[compaction.BucketID{Partition: f.Partition, Bucket: f.Bucket}]++
	}
}

// refresh reloads the sorted-run counts from the latest snapshot, plus the
// writer's commits that snapshot does not include yet.
func (m *compactManager) refresh(ctx context.Context) error {
	m.mu.Lock()
	m.refreshing++
	m.mu.Unlock()
	runs, id, err := m.load(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshing--
	if err == nil {
		for _, c := range m.own {
			if c.snap > id {
				addRuns(runs, c.files)
			}
		}
		m.runs, m.loaded = runs, true
	}
	if m.refreshing == 0 {
		m.own = nil
	}
	return err
}

// load counts the sorted runs at the latest snapshot and returns its id.
func (m *compactManager) load(ctx context.Context) (map[compaction.BucketID]int, int64, error) {
	snap, err := m.t.meta.Latest(ctx)
	if err != nil || snap == nil {
		return map[compaction.BucketID]int{}, 0, err
	}
	files, err := m.t.meta.Files(ctx, snap)
	if err != nil {
		return nil, 0, err
	}
	return compaction.CountRuns(files), snap.ID, nil
}

// trigger queues buckets and starts workers while there are fewer than
// compaction.max-concurrent and queued buckets nobody is compacting.
func (m *compactManager) trigger(ids []compaction.BucketID, force bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	for _, id := range ids {
		m.pending[id] = true
		if force {
			m.forced[id] = true
		}
	}
	m.spawn()
}

// spawn starts workers while there are fewer than compaction.max-concurrent
// and fewer than the buckets queued or being compacted. m.mu must be held.
func (m *compactManager) spawn() {
	idle := 0
	for id := range m.pending {
		if !m.active[id] {
			idle++
		}
	}
	if idle == 0 || m.ctx.Err() != nil {
		return
	}
	for want := min(max(m.opts.MaxConcurrent, 1), len(m.active)+idle); m.workers < want; {
		m.workers++
		m.wg.Add(1)
		go m.work()
	}
}

// work compacts queued buckets, one round per bucket, until none is left
// that another worker is not compacting.
func (m *compactManager) work() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		var id compaction.BucketID
		var force, ok bool
		if m.ctx.Err() == nil {
			id, force, ok = m.next()
		}
		if !ok {
			m.workers--
			if m.ctx.Err() != nil {
				clear(m.pending)
				clear(m.forced)
			}
			m.signal()
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		m.round(id, force, false)
	}
}

// round compacts bucket id, which the caller marked active, and records
// the outcome. It runs in a worker, or in the helper (helper).
func (m *compactManager) round(id compaction.BucketID, force, helper bool) {
	rep, err := m.comp.Run(m.ctx, compaction.Request{
		Filter: func(b compaction.BucketID) bool { return b == id },
		Force:  func(compaction.BucketID) bool { return force },
	})
	rerr := m.refresh(m.ctx)

	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.active, id)
	if helper {
		m.helping = false
	}
	m.rounds[id]++
	m.stats.rounds++
	m.errs[id] = err // failures of the round as a whole, e.g. reading the snapshot
	if rep != nil {
		for _, b := range rep.Buckets {
			m.errs[b.BucketID] = b.Err
			switch b.Status {
			case compaction.Committed:
				m.stats.compactions++
				m.stats.bytesRead += b.Stats.BytesRead
				m.stats.bytesWritten += b.Stats.BytesWritten
			case compaction.Conflict:
				m.stats.conflicts++
			case compaction.Failed:
				m.stats.failures++
			}
		}
	}
	if rerr != nil && m.errs[id] == nil {
		m.errs[id] = rerr
	}
	m.signal()
	m.spawn() // the bucket may have been queued again meanwhile
	if m.closing {
		m.helpQueued()
	}
}

// next takes the most urgent queued bucket nobody is compacting: one a
// writer is stalled on (forced), else the one with the most sorted runs,
// else the first in (partition, bucket) order. m.mu must be held.
func (m *compactManager) next() (id compaction.BucketID, force, ok bool) {
	for b := range m.pending {
		if m.active[b] {
			continue
		}
		if !ok || m.moreUrgent(b, id) {
			id, ok = b, true
		}
	}
	if ok {
		force = m.forced[id]
		delete(m.pending, id)
		delete(m.forced, id)
		m.active[id] = true
	}
	return id, force, ok
}

// moreUrgent orders queued buckets for next. m.mu must be held.
func (m *compactManager) moreUrgent(a, b compaction.BucketID) bool {
	if m.forced[a] != m.forced[b] {
		return m.forced[a]
	}
	if m.runs[a] != m.runs[b] {
		return m.runs[a] > m.runs[b]
	}
	if a.Partition != b.Partition {
		return a.Partition < b.Partition
	}
	return a.Bucket < b.Bucket
}

// signal wakes every waiter; m.mu must be held.
func (m *compactManager) signal() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// StallNoticeInterval is how often Env.OnStall hears of a stall that
// goes on.
const StallNoticeInterval = 10 * time.Second

// StallInfo describes a write stall: a writer waits because a bucket it
// writes to has num-sorted-run.stop-trigger sorted runs or more, until
// compaction brings the count below it.
type StallInfo struct {
	Table       string // "db.t"
	Bucket      string // "bucket-3" or "dt=2024-01-01/bucket-3"
	SortedRuns  int
	StopTrigger int
	// Waited is how long the writer has waited so far (0 when the stall
	// begins).
	Waited time.Duration
	// WriteOnly: the table has write-only=true, so the writer waits for a
	// compaction run elsewhere (silt compact, silt serve); otherwise it
	// runs one itself and waits for it.
	WriteOnly bool
}

// Hint says what the user can do about the stall.
func (s StallInfo) Hint() string {
	if s.WriteOnly {
		return fmt.Sprintf("run 'silt compact %s' (or a 'silt serve' that compacts it), or enable inline compaction with ALTER TABLE %s SET ('%s' = 'false')", s.Table, s.Table, OptWriteOnly)
	}
	return fmt.Sprintf("this writer is compacting the bucket itself; 'silt compact %s' helps too", s.Table)
}

// String is the one-line notice of the stall.
func (s StallInfo) String() string {
	what := "waiting for a compaction elsewhere"
	if !s.WriteOnly {
		what = "waiting for its inline compaction"
	}
	stalled := "write stalled"
	if s.Waited >= time.Second {
		stalled = fmt.Sprintf("write stalled for %s", s.Waited.Round(time.Second))
	}
	return fmt.Sprintf("%s: %s %s has %d sorted runs (%s=%d), %s; %s",
		stalled, s.Table, s.Bucket, s.SortedRuns, OptStopTrigger, s.StopTrigger, what, s.Hint())
}

// stallNotice calls Env.OnStall when a notice is due; next is the time
// of the next one.
func (m *compactManager) stallNotice(id compaction.BucketID, start time.Time, n int, next *time.Time) {
	if m.t.env.OnStall == nil {
		return
	}
	now := m.t.env.Now()
	if now.Before(*next) {
		return
	}
	*next = now.Add(StallNoticeInterval)
	m.t.env.OnStall(StallInfo{Table: m.t.name, Bucket: id.String(), SortedRuns: n, StopTrigger: m.opts.StopTrigger,
		Waited: now.Sub(start), WriteOnly: m.opts.WriteOnly})
}

// waitBelow blocks until bucket id has fewer than stop-trigger sorted
// runs, telling Env.OnStall about the wait.
func (m *compactManager) waitBelow(ctx context.Context, id compaction.BucketID) error {
	start := m.t.env.Now()
	defer func() {
		m.mu.Lock()
		m.stats.stalls++
		m.stats.stallTime += m.t.env.Now().Sub(start)
		m.mu.Unlock()
	}()
	poll := stallPollMin
	var nextNotice time.Time // zero: the first notice is due at once
	for {
		m.mu.Lock()
		n, ch := m.runs[id], m.changed
		m.mu.Unlock()
		if n < m.opts.StopTrigger {
			return nil
		}
		m.stallNotice(id, start, n, &nextNotice)
		stalled := func(err error) error {
			return fmt.Errorf("write stalled: %s has %d sorted runs (%s=%d): %w", id, n, OptStopTrigger, m.opts.StopTrigger, err)
		}
		if m.opts.WriteOnly || m.comp == nil {
			if m.comp == nil && !m.opts.WriteOnly {
				return stalled(m.compErr)
			}
			if err := sleepCtx(ctx, poll); err != nil {
				return stalled(err)
			}
			poll = min(2*poll, stallPollMax)
			if err := m.refresh(ctx); err != nil && ctx.Err() != nil {
				return stalled(ctx.Err())
			}
			continue
		}
		m.mu.Lock()
		asked := m.rounds[id]
		help := m.help(id)
		m.mu.Unlock()
		if !help {
			m.trigger([]compaction.BucketID{id}, true)
		}
		if err := m.awaitRound(ctx, ch, func() { m.stallNotice(id, start, n, &nextNotice) }); err != nil {
			return stalled(err)
		}
		m.mu.Lock()
		n, err, ended := m.runs[id], m.errs[id], m.rounds[id] > asked
		m.mu.Unlock()
		if n >= m.opts.StopTrigger && ended && err != nil && !errors.Is(err, types.ErrConflict) {
			var merge lsm.MergeError
			if errors.As(err, &merge) {
				// The bucket cannot be compacted until a key's aggregate
				// is fixed (widened, or restarted with -D), and the fix is
				// a write: let it through instead of failing every write
				// to the bucket. Reads and compactions of the key keep
				// reporting the error until then.
				return nil
			}
			return stalled(fmt.Errorf("compaction failed: %w", err))
		}
	}
}

// help starts the helper on bucket id, which a writer is stalled on,
// unless a worker is compacting the bucket already, the helper is busy or
// the writer is closed. The helper is one compaction beyond
// compaction.max-concurrent: the stalled writer's goroutine is idle, so
// the helper uses its core, and the bucket does not wait behind the
// workers' other buckets. It runs under the writer's lifetime, not the
// stalled call's context, like a worker. m.mu must be held.
func (m *compactManager) help(id compaction.BucketID) bool {
	if m.active[id] {
		// A worker has the bucket: the idle core takes the next queued
		// bucket instead, which would otherwise wait for that worker.
		m.helpQueued()
		return false
	}
	if m.helping || m.ctx.Err() != nil {
		return false
	}
	m.active[id] = true
	delete(m.pending, id)
	delete(m.forced, id)
	m.startHelper(id, true)
	return true
}

// helpQueued starts the helper on the most urgent queued bucket nobody is
// compacting, if the helper is free: the writer's goroutine is idle (it is
// stalled on a bucket a worker has, or Close is waiting for the workers),
// so the helper uses its core rather than leave the bucket to wait behind
// the workers' rounds. While the writer is closing, each helper round
// ends by taking the next queued bucket. m.mu must be held.
func (m *compactManager) helpQueued() {
	if m.helping || m.ctx.Err() != nil {
		return
	}
	if id, force, ok := m.next(); ok {
		m.startHelper(id, force)
	}
}

// startHelper runs the helper's round of bucket id, which the caller
// marked active. m.mu must be held.
func (m *compactManager) startHelper(id compaction.BucketID, force bool) {
	m.helping = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.round(id, force, true)
	}()
}

// awaitRound waits until ch is closed (a compaction round ended), ctx
// ends or the writer closes, calling notice every StallNoticeInterval.
func (m *compactManager) awaitRound(ctx context.Context, ch <-chan struct{}, notice func()) error {
	tick := time.NewTicker(StallNoticeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.ctx.Done():
			return fmt.Errorf("%w: writer closed", types.ErrInvalid)
		case <-ch:
			return nil
		case <-tick.C:
			notice()
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// close waits for the queued and running rounds, with the helper taking
// queued buckets beside the workers; when ctx ends first it cancels them.
func (m *compactManager) close(ctx context.Context) error {
	m.mu.Lock()
	m.closing = true
	m.helpQueued()
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		m.cancel()
		return nil
	case <-ctx.Done():
		m.cancel()
		<-done
		return ctx.Err()
	}
}

// Close waits for the writer's background compactions to finish; if ctx
// ends first they are cancelled (their uncommitted outputs are deleted) and
// ctx's error is returned. It deletes the writer's private lookup index
// (changelog_index.go). It does not commit buffered rows: call Commit or
// Abort first. The writer must not be used afterwards.
func (w *Writer) Close(ctx context.Context) error {
	err := w.cl.closeIndex()
	if w.cm == nil {
		return err
	}
	return errors.Join(w.cm.close(ctx), err)
}

// BucketRuns is a writer's view of one bucket's merge tree.
type BucketRuns struct {
	Partition string
	Bucket    int
	// SortedRuns as of the writer's last commit or compaction round.
	SortedRuns int
	// UntilStall is num-sorted-run.stop-trigger minus SortedRuns (<= 0:
	// writes to the bucket stall).
	UntilStall int
}

// BucketRuns returns the sorted-run counts the writer knows, in (partition,
// bucket) order; empty before its first commit.
func (w *Writer) BucketRuns() []BucketRuns {
	if w.cm == nil {
		return nil
	}
	m := w.cm
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]BucketRuns, 0, len(m.runs))
	for id, n := range m.runs {
		out = append(out, BucketRuns{Partition: id.Partition, Bucket: id.Bucket, SortedRuns: n, UntilStall: m.opts.StopTrigger - n})
	}
	slices.SortFunc(out, func(a, b BucketRuns) int {
		if c := strings.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.Bucket, b.Bucket)
	})
	return out
}

// fill adds the compaction counters to writer stats.
func (m *compactManager) fill(s *WriterStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.CompactionRounds = m.stats.rounds
	s.Compactions = m.stats.compactions
	s.CompactionConflicts = m.stats.conflicts
	s.CompactionFailures = m.stats.failures
	s.CompactionBytesRead = m.stats.bytesRead
	s.CompactionBytesWritten = m.stats.bytesWritten
	s.Stalls = m.stats.stalls
	s.StallTime = m.stats.stallTime
}
