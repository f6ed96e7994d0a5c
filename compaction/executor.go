package compaction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Dropper is implemented by merge engines (lsm.Merger) that can tell which
// merged records without a row (Kind not +I/+U) a compaction may drop when
// its output holds the oldest records of every key it contains. A record
// may be dropped only if merging it first with any later records of its key
// reads the same as those later records alone. Without Dropper nothing is
// dropped.
type Dropper interface {
	CanDrop(r *lsm.Record) bool
}

// Executor turns plans into uncommitted results: it reads the input files,
// merges them with the table's merge engine and writes the output files.
type Executor struct {
	Store objstore.Store
	// Root is the table's key prefix, ending in '/'.
	Root string
	// Schema is the table's current schema: inputs are read with it and
	// outputs written with it.
	Schema *types.Schema
	Merger lsm.Merger
	// Options: only TargetFileSize, RowGroupRows, UpgradeMinSize,
	// NoRowGroupCopy, MaxBufferBytes and Expire are used here.
	Options Options
	// Now stamps output files and is the reference time of Expire.
	// Default time.Now.
	Now func() time.Time
	// NewID names output files. Default: random UUIDs.
	NewID func() string
	// ForSchema returns schema version id and its merge engine. A plan
	// whose inputs were written with a schema newer than Schema (another
	// process altered the table) is executed with the newest one, so no
	// column is lost; without ForSchema such a plan fails.
	ForSchema func(ctx context.Context, id int64) (*types.Schema, lsm.Merger, error)

	// boxed reads row groups as boxed records (lsm.DecodeGroup) instead of
	// Arrow batches whose rows are written from their arrays: the former
	// path, kept as the tests' reference.
	boxed bool

	once sync.Once
	// scratch holds decode buffers (lsm.Scratch) a run's source takes for
	// a rewrite and returns after it, so that the next rewrite (often of
	// small files, one row group each) reuses them; at most maxScratch
	// are kept. (A sync.Pool loses them to the garbage collections a
	// rewrite's own allocations trigger.)
	mu      sync.Mutex
	scratch []*lsm.Scratch
	// bufs lends output files their buffers, kept after their uploads for
	// the next outputs (lsm.Buffers).
	bufs *lsm.Buffers
}

// outputBufferBytes bounds the buffers of uploaded output files an
// Executor keeps: a few outputs of a compaction of small buckets (larger
// files are left to the garbage collector).
const outputBufferBytes = 32 << 20

// maxScratch caps the decode buffers an Executor keeps between rewrites:
// about a page body, its copy and its delta lengths each (about 1 MiB
// with the default page size); buffers grown past maxScratchBytes by
// larger pages are not kept.
const (
	maxScratch      = 8
	maxScratchBytes = 4 << 20
)

// getScratch takes kept decode buffers, or new ones.
func (e *Executor) getScratch() *lsm.Scratch {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := len(e.scratch); n > 0 {
		s := e.scratch[n-1]
		e.scratch = e.scratch[:n-1]
		return s
	}
	return new(lsm.Scratch)
}

// putScratch keeps decode buffers for the next rewrite (or drops them).
func (e *Executor) putScratch(s *lsm.Scratch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.scratch) < maxScratch && s.MemBytes() <= maxScratchBytes {
		e.scratch = append(e.scratch, s)
	}
}

// Result is an executed, not yet committed plan.
type Result struct {
	Plan Plan
	// Added are the new files, at Plan.OutputLevel. Their SeqBase is 0
	// unless they hold row groups copied from a file with another base.
	Added []manifest.DataFile
	// Deleted are the input files that were rewritten.
	Deleted []manifest.DataFile
	// Upgrades move input files that needed no merging to the output level.
	Upgrades []manifest.Upgrade
	Stats    Stats

	// failed are uploads that reported an error: they may exist anyway.
	failed []string
}

// Stats counts what compactions did.
type Stats struct {
	FilesRead      int   `json:"filesRead"`
	BytesRead      int64 `json:"bytesRead"`
	RecordsRead    int64 `json:"recordsRead"`
	FilesWritten   int   `json:"filesWritten"`
	BytesWritten   int64 `json:"bytesWritten"`
	RecordsWritten int64 `json:"recordsWritten"`
	FilesUpgraded  int   `json:"filesUpgraded"`
	BytesUpgraded  int64 `json:"bytesUpgraded"`
	// RowGroupsCopied counts input row groups copied into output files
	// page by page, without decoding (RowsCopied their records,
	// BytesCopied their compressed bytes); RowGroupsMerged those decoded
	// and merged. RowGroupsReencoded counts row groups parquet-go
	// re-encoded column by column where a verbatim copy was refused.
	RowGroupsCopied    int   `json:"rowGroupsCopied"`
	RowsCopied         int64 `json:"rowsCopied"`
	BytesCopied        int64 `json:"bytesCopied"`
	RowGroupsMerged    int   `json:"rowGroupsMerged"`
	RowGroupsReencoded int   `json:"rowGroupsReencoded,omitempty"`
	// DeletesDropped counts tombstones dropped; Expired rows dropped by the
	// record TTL.
	DeletesDropped int64 `json:"deletesDropped"`
	Expired        int64 `json:"expired"`
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.FilesRead += o.FilesRead
	s.BytesRead += o.BytesRead
	s.RecordsRead += o.RecordsRead
	s.FilesWritten += o.FilesWritten
	s.BytesWritten += o.BytesWritten
	s.RecordsWritten += o.RecordsWritten
	s.FilesUpgraded += o.FilesUpgraded
	s.BytesUpgraded += o.BytesUpgraded
	s.RowGroupsCopied += o.RowGroupsCopied
	s.RowsCopied += o.RowsCopied
	s.BytesCopied += o.BytesCopied
	s.RowGroupsMerged += o.RowGroupsMerged
	s.RowGroupsReencoded += o.RowGroupsReencoded
	s.DeletesDropped += o.DeletesDropped
	s.Expired += o.Expired
}

// smallFileLimit: input files up to this size are read with one GET.
const smallFileLimit = 8 << 20

// Execute runs p. Input files whose key range overlaps no other input and
// that are at least UpgradeMinSize are upgraded (unless p drops deletes and
// they hold -U/-D records or a TTL applies); the rest are merged, in runs of
// adjacent key ranges, into new files, into which row groups that overlap
// no other input are copied without decoding (see copy.go). On error every file written so far
// is deleted again (best effort) and nothing else changed.
func (e *Executor) Execute(ctx context.Context, p Plan) (*Result, error) {
	e.defaults()
	res := &Result{Plan: p}
	if err := e.execute(ctx, res); err != nil {
		_ = e.Discard(context.WithoutCancel(ctx), res)
		return nil, fmt.Errorf("compact %s: %w", p.BucketID, err)
	}
	return res, nil
}

// defaults fills unset fields once; an Executor's fields must not change
// after its first use.
func (e *Executor) defaults() {
	e.once.Do(func() {
		e.Options = e.Options.EnsureDefaults()
		if e.Now == nil {
			e.Now = time.Now
		}
		if e.NewID == nil {
			e.NewID = uuid.NewString
		}
		e.bufs = lsm.NewBuffers(outputBufferBytes)
	})
}

// inputFile is an input file and the age rank of its run (0 = newest).
type inputFile struct {
	manifest.DataFile
	run int
}

// job is one execution: the schema and merge engine it reads and writes
// with.
type job struct {
	*Executor
	plan   Plan
	schema *types.Schema
	merger lsm.Merger
}

func (e *Executor) execute(ctx context.Context, res *Result) error {
	p := &res.Plan
	var files []inputFile
	newest := e.Schema.ID
	for i, r := range p.Inputs {
		for _, f := range r.Files {
			files = append(files, inputFile{f, i})
			newest = max(newest, f.SchemaID)
		}
	}
	j := &job{Executor: e, plan: *p, schema: e.Schema, merger: e.Merger}
	if newest > e.Schema.ID {
		if e.ForSchema == nil {
			return fmt.Errorf("%w: input files were written with schema %d, newer than the compactor's %d: reopen the table",
				types.ErrInvalid, newest, e.Schema.ID)
		}
		var err error
		if j.schema, j.merger, err = e.ForSchema(ctx, newest); err != nil {
			return fmt.Errorf("load schema %d: %w", newest, err)
		}
	}
	return j.run(ctx, res, files)
}

func (j *job) run(ctx context.Context, res *Result, files []inputFile) error {
	p := &res.Plan
	slices.SortFunc(files, func(a, b inputFile) int {
		if c := bytes.Compare(a.MinKey, b.MinKey); c != 0 {
			return c
		}
		return bytes.Compare(a.MaxKey, b.MaxKey)
	})
	out := &outputWriter{j: j, res: res}
	var candidate []inputFile
	for _, sec := range sections(files) {
		if len(sec) == 1 && j.upgradable(p, &sec[0].DataFile) {
			if err := j.rewrite(ctx, out, candidate); err != nil {
				return err
			}
			candidate = candidate[:0]
			f := sec[0].DataFile
			if f.Level != p.OutputLevel {
				res.Upgrades = append(res.Upgrades, manifest.Upgrade{Path: f.Path, FromLevel: f.Level, Level: p.OutputLevel})
				res.Stats.FilesUpgraded++
				res.Stats.BytesUpgraded += f.Size
			}
			continue
		}
		candidate = append(candidate, sec...)
	}
	return j.rewrite(ctx, out, candidate)
}

// sections splits files sorted by MinKey into maximal groups whose key
// ranges overlap transitively.
func sections(files []inputFile) [][]inputFile {
	var out [][]inputFile
	var maxKey []byte
	for i, f := range files {
		if i == 0 || bytes.Compare(f.MinKey, maxKey) > 0 {
			out = append(out, nil)
			maxKey = f.MaxKey
		}
		out[len(out)-1] = append(out[len(out)-1], f)
		if bytes.Compare(f.MaxKey, maxKey) > 0 {
			maxKey = f.MaxKey
		}
	}
	return out
}

func (e *Executor) upgradable(p *Plan, f *manifest.DataFile) bool {
	if p.Rewrite || f.Size < e.Options.UpgradeMinSize {
		return false
	}
	if p.DropDeletes && (f.DeleteCount > 0 || e.Options.Expire != nil) {
		return false
	}
	return true
}

// rewrite merges files (a run of adjacent sections) into new files.
func (j *job) rewrite(ctx context.Context, out *outputWriter, files []inputFile) error {
	if len(files) == 0 {
		return nil
	}
	p := &out.res.Plan
	st := &out.res.Stats
	byRun := map[int][]manifest.DataFile{}
	var runs []int
	for _, f := range files {
		if _, ok := byRun[f.run]; !ok {
			runs = append(runs, f.run)
		}
		byRun[f.run] = append(byRun[f.run], f.DataFile)
		out.res.Deleted = append(out.res.Deleted, f.DataFile)
		st.FilesRead++
		st.BytesRead += f.Size
		st.RecordsRead += f.RowCount
	}
	slices.Sort(runs)
	out.expect = 0
	for _, f := range files {
		out.expect += f.RowCount
	}
	srcs := make([]*runSource, len(runs))
	sources := make([]lsm.RecordSource, len(runs))
	for i, r := range runs {
		srcs[i] = &runSource{j: j, ctx: ctx, files: byRun[r], all: files}
		sources[i] = srcs[i].next
	}
	defer func() {
		for _, s := range srcs {
			st.RowGroupsMerged += s.merged
			if s.scratch != nil {
				j.putScratch(s.scratch)
				s.scratch = nil
			}
		}
	}()
	prefetch(srcs)
	dropper, _ := j.merger.(Dropper)
	expired := j.expiry()
	merger := newCopyMerger(j.merger)
	for rec, err := range lsm.MergeSources(ctx, sources, merger, true) {
		if err != nil {
			return err
		}
		if merger.err != nil {
			return merger.err
		}
		if g := copyOf(&rec); g != nil {
			if err := out.addCopy(ctx, g); err != nil {
				return err
			}
			continue
		}
		if p.DropDeletes && j.drop(&rec, dropper, expired, st) {
			continue
		}
		if err := out.add(ctx, rec); err != nil {
			return err
		}
	}
	return out.finish(ctx)
}

// drop reports whether a compaction that drops deletes drops rec
// (counting it in st). It copies rec before handing it to dropper or
// expired, so that rec need not live on the heap: the merge loop's record
// would otherwise be allocated once per row.
func (j *job) drop(rec *lsm.Record, dropper Dropper, expired func(*lsm.Record) bool, st *Stats) bool {
	if !rec.Kind.IsAdd() {
		if dropper == nil {
			return false
		}
		r := *rec
		if dropper.CanDrop(&r) {
			st.DeletesDropped++
			return true
		}
		return false
	}
	if expired == nil {
		return false
	}
	r := *rec
	if expired(&r) {
		st.Expired++
		return true
	}
	return false
}

// expiry returns the TTL predicate, or nil without a TTL.
func (j *job) expiry() func(*lsm.Record) bool {
	x := j.Options.Expire
	if x == nil {
		return nil
	}
	if j.schema != j.Schema { // the TTL column, by name, in the newer schema
		i := j.schema.FieldIndex(j.Schema.Fields[x.Field].Name)
		if i < 0 {
			return nil
		}
		x = &Expire{Field: i, After: x.After}
	}
	cutoff := j.Now().Add(-x.After)
	ms, us := cutoff.UnixMilli(), cutoff.UnixMicro()
	return func(r *lsm.Record) bool {
		switch v := lsm.Value(r, x.Field).(type) {
		case types.Timestamp:
			return int64(v) < us
		case int64:
			return v < ms
		}
		return false // NULL never expires
	}
}

// runSource pulls the records of files (one run, key order) one file and
// one row group at a time, decoded into an Arrow batch (lsm.DecodeBatch)
// whose +I/+U rows come as RowRef records (lsm.RowRef: encoded from the
// arrays unless a merge engine must read them) and whose -U/-D rows come
// boxed, for Dropper; a row group that can be copied (see copy.go) comes
// as one placeholder record. all are the files of the whole merge. Being pulled by the merge
// directly, it costs no coroutine switch per record.
type runSource struct {
	j     *job
	ctx   context.Context
	files []manifest.DataFile
	all   []inputFile
	// merged counts the row groups decoded for the merge
	// (Stats.RowGroupsMerged).
	merged int
	// first, when set, is the result of the first next, run ahead by
	// prefetch.
	first *fetched

	fi     int // next file to open
	f      manifest.DataFile
	fr     *lsm.FileReader
	copies []bool
	gi     int // next row group of fr
	rows   *lsm.GroupRows
	batch  *lsm.Batch // the row group being read (unless boxed)
	br     int        // next row of batch
	// scratch holds the decoding buffers reused from row group to row
	// group (taken from the Executor's pool on first use).
	scratch *lsm.Scratch
}

// fetched is one result of runSource.next.
type fetched struct {
	rec lsm.Record
	ok  bool
	err error
}

// prefetch runs the first next of every source at once, one goroutine
// each: the merge needs the first record of every input before it yields
// anything, so fetching, checking and decoding the inputs' first row
// groups one after another only leaves the other cores idle. The sources
// yield the same records as without it.
func prefetch(srcs []*runSource) {
	if len(srcs) < 2 {
		return
	}
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Go(func() {
			rec, ok, err := s.next()
			s.first = &fetched{rec, ok, err}
		})
	}
	wg.Wait()
}

func (s *runSource) next() (lsm.Record, bool, error) {
	if f := s.first; f != nil {
		s.first = nil
		return f.rec, f.ok, f.err
	}
	for {
		if b := s.batch; b != nil {
			if r := s.br; r < b.Len() {
				s.br++
				if b.Kind(r).IsAdd() {
					return b.RefRecord(r), true, nil
				}
				// Rows without a row are few; Dropper reads their values.
				return b.Record(r), true, nil
			}
			s.batch = nil
		}
		if s.rows != nil {
			rec, ok, err := s.rows.Next()
			if err != nil {
				return lsm.Record{}, false, fmt.Errorf("data file %s: %w", s.f.Path, err)
			}
			if ok {
				return rec, true, nil
			}
			s.rows = nil
		}
		if s.fr == nil || s.gi >= s.fr.NumRowGroups() {
			if s.fi >= len(s.files) {
				s.fr = nil
				return lsm.Record{}, false, nil
			}
			s.f = s.files[s.fi]
			s.fi++
			fr, err := s.j.open(s.ctx, s.f)
			if err != nil {
				return lsm.Record{}, false, err
			}
			s.fr, s.gi, s.copies = fr, 0, nil
			if s.j.copyCandidate(&s.j.plan, &s.f) {
				s.copies = copyable(fr, &s.f, s.all, int64(s.j.Options.RowGroupRows/4))
			}
			continue
		}
		i := s.gi
		s.gi++
		if s.copies != nil && s.copies[i] {
			g, err := s.fr.CopyGroup(s.ctx, i, s.f.DeleteCount > 0)
			if err != nil {
				return lsm.Record{}, false, fmt.Errorf("data file %s: %w", s.f.Path, err)
			}
			return placeholder(g), true, nil
		}
		s.merged++
		if !s.j.boxed {
			if s.scratch == nil {
				s.scratch = s.j.getScratch()
			}
			b, err := s.fr.DecodeBatchWith(s.ctx, i, lsm.ReadOptions{}, s.scratch)
			if err != nil {
				return lsm.Record{}, false, fmt.Errorf("data file %s: %w", s.f.Path, err)
			}
			s.batch, s.br = b, 0
			continue
		}
		rows, err := s.fr.DecodeGroup(s.ctx, i)
		if err != nil {
			return lsm.Record{}, false, fmt.Errorf("data file %s: %w", s.f.Path, err)
		}
		s.rows = rows
	}
}

// open opens an input file with the job's schema.
func (j *job) open(ctx context.Context, f manifest.DataFile) (*lsm.FileReader, error) {
	e := j.Executor
	key := e.Root + f.Path
	var r io.ReaderAt
	if f.Size <= smallFileLimit {
		data, _, err := e.Store.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("read data file %s: %w", f.Path, err)
		}
		if int64(len(data)) != f.Size {
			return nil, fmt.Errorf("%w: data file %s has %d bytes, manifest says %d", types.ErrCorruption, f.Path, len(data), f.Size)
		}
		// In place: row groups are checked and decoded from data, not
		// copied out of it first (lsm.BytesReader).
		r = lsm.NewBytesReader(data)
	} else {
		r = objstore.NewReaderAt(ctx, e.Store, key, f.Size)
	}
	fr, err := lsm.OpenFile(ctx, r, f.Size, j.schema, f.SeqBase)
	if err == nil {
		// A replaced input must fail the compaction, not be rewritten.
		err = lsm.CheckIdentity(fr, f)
	}
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", f.Path, err)
	}
	return fr, nil
}

// Discard deletes the files a result added. Call it only when no commit can
// have published them: never after an error wrapping objstore.ErrAmbiguous.
func (e *Executor) Discard(ctx context.Context, r *Result) error {
	paths := slices.Clone(r.failed)
	for _, f := range r.Added {
		paths = append(paths, f.Path)
	}
	var errs []error
	for _, p := range paths {
		if err := e.Store.Delete(ctx, e.Root+p); err != nil && !errors.Is(err, objstore.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
