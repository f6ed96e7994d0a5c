package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// tableState is what a refresh learnt about one table, plus what this
// process did to it (compaction and maintenance counters). The server's
// mutex guards it; a refresh builds a new value and swaps it in.
type tableState struct {
	Name      string
	Refreshed time.Time
	Err       string

	Latest        *manifest.Snapshot
	SnapshotCount int
	Oldest        *manifest.Snapshot
	Recent        []*manifest.Snapshot // newest last, at most recentSnapshots
	Tags          []*manifest.Tag
	Branches      []*manifest.BranchInfo
	Buckets       []table.BucketStats
	Levels        []bucketLevels // the files of each bucket by level
	Tiers         map[string]tierStat
	LiveBytes     int64
	LiveRecords   int64
	StoredBytes   int64 // every object under data/, referenced or not
	Options       map[string]string
	Columns       []string
	PrimaryKeys   []string

	// Observed snapshots (since the process started, over the retained
	// history at the first refresh): their kinds, delta records and the
	// bytes of the files they added.
	seenID    int64
	CommitsBy map[manifest.CommitKind]int64
	Ingested  int64 // delta records of APPEND and OVERWRITE snapshots
	Rewritten int64 // delta records of COMPACT snapshots
	// FlushedBytes and CompactedBytes are the bytes of the data files
	// added by APPEND and OVERWRITE snapshots, and by COMPACT ones.
	FlushedBytes   int64
	CompactedBytes int64
	lastList       listCache
	recentByID     map[int64]*manifest.Snapshot
	oldestCached   *manifest.Snapshot

	Compact       compactCounters
	Maintain      maintainCounters
	refreshErrors int64
	fullAt        time.Time // when the files and the data/ listing were last read
}

type tierStat struct {
	Files int
	Bytes int64
}

// bucketLevels lists one bucket's files by level (sizes in bytes).
type bucketLevels struct {
	Partition string    `json:"partition"`
	Bucket    int       `json:"bucket"`
	Levels    [][]int64 `json:"levels"`
}

type compactCounters struct {
	RunsOK, RunsFailed         int64
	Buckets                    map[string]int64 // by compaction.Status
	BytesRead, BytesWritten    int64
	Seconds                    float64
	LastRun                    time.Time
	LastErr                    string
	LastSnapshots              []int64
	LastCommitted, LastPlanned int
}

type maintainCounters struct {
	RunsOK, RunsFailed int64
	Report             lifecycle.MaintainReport // sums of the counts of every run
	TagsCreated        int64
	TagsDeleted        int64
	Seconds            float64
	LastRun, NextRun   time.Time
	LastErr            string
	Next               []string // the dry run's pending actions
}

const (
	// recentSnapshots bounds the snapshots kept for the console timeline.
	recentSnapshots = 40
	// maxObserve bounds the snapshots read per refresh to count kinds.
	maxObserve = 500
	// maxBucketFiles bounds the files per bucket shown by the console.
	maxBucketFiles = 200
	// fullRefreshEvery: an unchanged table's files and data/ listing are
	// re-read this often (they change without a new snapshot only through
	// expiry and orphan cleanup).
	fullRefreshEvery = 5 * time.Minute
)

// refreshTable re-reads a table's metadata into a new state built on prev
// (a copy the caller owns, or nil). The caller carries the compaction and
// maintenance counters over when it swaps the new state in.
func (s *Server) refreshTable(ctx context.Context, name string, prev *tableState) *tableState {
	st := &tableState{Name: name, Refreshed: s.now(), CommitsBy: map[manifest.CommitKind]int64{}, recentByID: map[int64]*manifest.Snapshot{}}
	if prev != nil {
		st.refreshErrors = prev.refreshErrors
		st.seenID, st.Ingested, st.Rewritten = prev.seenID, prev.Ingested, prev.Rewritten
		st.FlushedBytes, st.CompactedBytes, st.lastList = prev.FlushedBytes, prev.CompactedBytes, prev.lastList
		for k, v := range prev.CommitsBy {
			st.CommitsBy[k] = v
		}
		for k, v := range prev.recentByID {
			st.recentByID[k] = v
		}
		st.oldestCached = prev.oldestCached
	}
	if err := s.readTable(ctx, st, prev); err != nil {
		st.Err = err.Error()
		st.refreshErrors++
		if prev != nil && !prev.Refreshed.IsZero() { // keep the last good picture, marked stale
			keep := *prev
			keep.Err, keep.refreshErrors = st.Err, st.refreshErrors
			return &keep
		}
		st.Refreshed = time.Time{}
	}
	return st
}

func (s *Server) readTable(ctx context.Context, st, prev *tableState) error {
	db, tn, err := SplitTableName(st.Name)
	if err != nil {
		return err
	}
	t, err := s.o.Catalog.LoadTable(ctx, db, tn)
	if err != nil {
		return err
	}
	st.Options = t.Schema().Options
	for _, f := range t.Schema().Fields {
		st.Columns = append(st.Columns, f.Name+" "+f.Type.String())
	}
	st.PrimaryKeys = t.Schema().PrimaryKeys
	if err := s.readSnapshots(ctx, t, st); err != nil {
		return err
	}
	if st.Tags, err = t.Meta().Tags(ctx); err != nil {
		return err
	}
	if st.Branches, err = t.Meta().Branches(ctx); err != nil {
		return err
	}
	// The files change only with a new snapshot, and the data/ listing
	// (orphans, files of expired snapshots) slowly: reuse them for an
	// unchanged table, re-reading them every fullRefreshEvery.
	if prev != nil && prev.Latest != nil && st.Latest != nil && prev.Latest.ID == st.Latest.ID &&
		prev.SnapshotCount == st.SnapshotCount && st.Refreshed.Sub(prev.fullAt) < fullRefreshEvery {
		st.Buckets, st.Levels, st.Tiers, st.fullAt = prev.Buckets, prev.Levels, prev.Tiers, prev.fullAt
		st.LiveBytes, st.LiveRecords, st.StoredBytes = prev.LiveBytes, prev.LiveRecords, prev.StoredBytes
		return nil
	}
	st.fullAt = st.Refreshed
	if st.Buckets, err = t.BucketStats(ctx); err != nil {
		return err
	}
	_, files, err := t.DataFiles(ctx, 0, 0)
	if err != nil {
		return err
	}
	st.Tiers = map[string]tierStat{}
	levels := map[[2]string]*bucketLevels{}
	var order [][2]string
	for _, f := range files {
		tier := f.Tier
		if tier == "" {
			tier = "hot"
		}
		ts := st.Tiers[tier]
		ts.Files++
		ts.Bytes += f.Size
		st.Tiers[tier] = ts
		st.LiveBytes += f.Size
		st.LiveRecords += f.RowCount
		k := [2]string{f.Partition, fmt.Sprint(f.Bucket)}
		bl := levels[k]
		if bl == nil {
			bl = &bucketLevels{Partition: f.Partition, Bucket: f.Bucket}
			levels[k] = bl
			order = append(order, k)
		}
		for len(bl.Levels) <= f.Level {
			bl.Levels = append(bl.Levels, []int64{})
		}
		if len(bl.Levels[f.Level]) < maxBucketFiles {
			bl.Levels[f.Level] = append(bl.Levels[f.Level], f.Size)
		}
	}
	for _, k := range order {
		st.Levels = append(st.Levels, *levels[k])
	}
	// Everything under data/: what the latest snapshot references plus
	// what only older snapshots (or nothing: orphans) still hold.
	objs, err := t.Store().List(ctx, t.Root()+"data/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		st.StoredBytes += o.Size
	}
	return nil
}

// readSnapshots lists the retained snapshots, reads the new ones (their
// kinds, record counts and added bytes feed the amplification metrics)
// and keeps the most recent for the console.
func (s *Server) readSnapshots(ctx context.Context, t *table.Table, st *tableState) error {
	objs, err := t.Store().List(ctx, t.Root()+manifest.SnapshotDir)
	if err != nil {
		return err
	}
	var ids []int64
	for _, o := range objs {
		if id, ok := manifest.ParseSnapshotPath(strings.TrimPrefix(o.Key, t.Root())); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	st.SnapshotCount = len(ids)
	if len(ids) == 0 {
		return nil
	}
	read := func(id int64) (*manifest.Snapshot, error) {
		if sn := st.recentByID[id]; sn != nil {
			return sn, nil
		}
		if st.oldestCached != nil && st.oldestCached.ID == id {
			return st.oldestCached, nil
		}
		sn, err := t.Meta().Snapshot(ctx, id)
		if errors.Is(err, types.ErrNotFound) {
			return nil, nil // expired meanwhile
		}
		return sn, err
	}
	// Observe the snapshots committed since the last refresh (read in
	// parallel: at the first refresh they are up to maxObserve).
	var newIDs []int64
	for _, id := range ids[max(0, len(ids)-maxObserve):] {
		if id > st.seenID {
			newIDs = append(newIDs, id)
		}
	}
	snaps := make([]*manifest.Snapshot, len(newIDs))
	errs := make([]error, len(newIDs))
	parallel(len(newIDs), func(i int) { snaps[i], errs[i] = read(newIDs[i]) })
	var fresh []*manifest.Snapshot
	for i, id := range newIDs {
		if errs[i] != nil {
			return errs[i]
		}
		st.seenID = id
		if snaps[i] != nil {
			fresh = append(fresh, snaps[i])
		}
	}
	pre := prefetch(ctx, t.Meta(), fresh, st.lastList)
	for _, sn := range fresh {
		if err := st.observe(ctx, pre, sn, read); err != nil {
			return err
		}
	}
	recent := map[int64]*manifest.Snapshot{}
	for _, id := range ids[max(0, len(ids)-recentSnapshots):] {
		sn, err := read(id)
		if err != nil {
			return err
		}
		if sn != nil {
			recent[id] = sn
			st.Recent = append(st.Recent, sn)
		}
	}
	st.recentByID = recent
	if len(st.Recent) > 0 {
		st.Latest = st.Recent[len(st.Recent)-1]
	}
	oldest, err := read(ids[0])
	if err != nil {
		return err
	}
	st.Oldest, st.oldestCached = oldest, oldest
	return nil
}

// spaceAmplification is the bytes stored under data/ per live byte.
func (st *tableState) spaceAmplification() float64 {
	if st.LiveBytes == 0 {
		return 0
	}
	return float64(st.StoredBytes) / float64(st.LiveBytes)
}
