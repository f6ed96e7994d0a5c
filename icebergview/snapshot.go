package icebergview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/iceberg-go"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Summary properties of a published Iceberg snapshot that name the silt
// snapshot it shows.
const (
	propSnapshotID   = "silt.snapshot-id"
	propBranch       = "silt.branch" // "" = main
	propManifestList = "silt.manifest-list"
	propBranchBorn   = "silt.branch-created-ms"
	propDeleteFiles  = "silt.delete-files"
	propSchemaID     = "silt.schema-id"
)

// errNotCompacted: a snapshot of a partial-update or aggregation table
// whose files do not hold one merged row per key, so it is not published.
var errNotCompacted = errors.New("not fully compacted")

// errColdTier: a snapshot with files in a tier the view cannot point at
// (see Publisher.coldLocation).
var errColdTier = errors.New("files in the cold tier")

// candidate is one silt snapshot to publish as an Iceberg snapshot.
type candidate struct {
	branch string // "" = main
	born   int64  // branch's CreatedMillis (0 for main)
	snap   *manifest.Snapshot
	iceID  int64
}

// freshEngine reports whether the merge engine keeps one stored record
// per row, so that position deletes make every snapshot readable.
func freshEngine(engine string) bool {
	return engine == "deduplicate" || engine == "first-row"
}

// fullyCompacted reports whether every bucket of files is one sorted run
// above level 0 without -U/-D rows: each key is then one merged record,
// which is what SELECT * returns for partial-update and aggregation.
func fullyCompacted(files []manifest.DataFile) bool {
	level := map[string]int{}
	for _, f := range files {
		if f.Level < 1 || f.DeleteCount > 0 {
			return false
		}
		k := f.Partition + "\x00" + strconv.Itoa(f.Bucket)
		if l, ok := level[k]; ok && l != f.Level {
			return false
		}
		level[k] = f.Level
	}
	return true
}

// snapWriter writes the objects of one Iceberg snapshot into its own
// folder (iceberg/snap/<id>-<seq>-<attempt>/): nothing is shared with
// another snapshot, so a crashed attempt leaves only an unreferenced
// folder behind.
type snapWriter struct {
	store    objstore.Store
	root     string // table root
	location string // table location URI, ending in '/'
	escape   func(rel string) string
	// coldLocation is the location URI of the table's files in the cold
	// tier, ending in '/' (Publisher.coldLocation).
	coldLocation func() (string, error)
	// lacksFieldIDs reports whether a data file has a column without a
	// Parquet field id (Publisher.lacksFieldIDs).
	lacksFieldIDs func(ctx context.Context, f manifest.DataFile) (bool, error)
	t             *table.Table
	schema        *types.Schema // the table's current schema
	iceSch        *iceberg.Schema
	spec          iceberg.PartitionSpec
	specSch       *iceberg.Schema // schema the spec is bound to
}

// write publishes c as an Iceberg snapshot with sequence number seq and
// returns it (not yet added to any metadata).
func (w *snapWriter) write(ctx context.Context, c candidate, seq int64, parent *int64, ts int64, folder string, schemaID int) (*icetable.Snapshot, error) {
	files, err := w.t.Meta().Files(ctx, c.snap)
	if err != nil {
		return nil, err
	}
	cold := ""
	for _, f := range files {
		switch {
		case f.Tier == "":
		case f.Tier != table.TierCold:
			return nil, fmt.Errorf("%w: %s is in tier %q", errColdTier, f.Path, f.Tier)
		case cold == "":
			if cold, err = w.coldLocation(); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
	}
	var hidden map[string][]int64
	if freshEngine(w.t.Options().MergeEngine) {
		if hidden, err = w.t.HiddenRows(ctx, c.snap); err != nil {
			return nil, err
		}
	} else if !fullyCompacted(files) {
		return nil, errNotCompacted
	}
	var dataEntries, delEntries []iceberg.ManifestEntry
	var delFiles, noIDs int
	for _, f := range files {
		lacks, err := w.lacksFieldIDs(ctx, f)
		if err != nil {
			return nil, err
		}
		if lacks {
			noIDs++
		}
		part, err := partitionValues(w.schema, f.Partition)
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", f.Path, err)
		}
		uri := w.location + w.escape(f.Path)
		if f.Tier != "" {
			uri = cold + w.escape(f.Path)
		}
		b, err := iceberg.NewDataFileBuilder(w.spec, iceberg.EntryContentData, uri, iceberg.ParquetFile, part, nil, nil, f.RowCount, f.Size)
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", f.Path, err)
		}
		id := c.iceID
		dataEntries = append(dataEntries, iceberg.NewManifestEntry(iceberg.EntryStatusADDED, &id, nil, nil, b.Build()))
		pos := hidden[f.Path]
		if len(pos) == 0 {
			continue
		}
		dels := make([]table.PositionDelete, len(pos))
		for i, p := range pos {
			dels[i] = table.PositionDelete{FilePath: uri, Pos: p}
		}
		var dbuf bytes.Buffer
		if _, err := table.WritePositionDeletes(&dbuf, dels); err != nil {
			return nil, fmt.Errorf("position deletes of %s: %w", f.Path, err)
		}
		body := dbuf.Bytes()
		rel := folder + "del-" + strconv.Itoa(delFiles) + ".parquet"
		delFiles++
		if _, err := w.store.PutIfAbsent(ctx, w.root+rel, body); err != nil {
			return nil, fmt.Errorf("write %s: %w", rel, err)
		}
		db, err := iceberg.NewDataFileBuilder(w.spec, iceberg.EntryContentPosDeletes, w.location+w.escape(rel), iceberg.ParquetFile, part, nil, nil, int64(len(pos)), int64(len(body)))
		if err != nil {
			return nil, err
		}
		db.ReferencedDataFile(uri)
		delEntries = append(delEntries, iceberg.NewManifestEntry(iceberg.EntryStatusADDED, &id, nil, nil, db.Build()))
	}
	var mfs []iceberg.ManifestFile
	for _, m := range []struct {
		name    string
		content iceberg.ManifestContent
		entries []iceberg.ManifestEntry
	}{{"data.avro", iceberg.ManifestContentData, dataEntries}, {"deletes.avro", iceberg.ManifestContentDeletes, delEntries}} {
		if len(m.entries) == 0 {
			continue
		}
		mf, err := w.writeManifest(ctx, folder+m.name, m.content, c.iceID, m.entries)
		if err != nil {
			return nil, err
		}
		mfs = append(mfs, mf)
	}
	var buf bytes.Buffer
	if err := iceberg.WriteManifestList(2, &buf, c.iceID, parent, &seq, 0, mfs); err != nil {
		return nil, fmt.Errorf("manifest list of snapshot %d: %w", c.snap.ID, err)
	}
	listRel := folder + "list.avro"
	if _, err := w.store.PutIfAbsent(ctx, w.root+listRel, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("write %s: %w", listRel, err)
	}
	op := icetable.OpAppend
	switch c.snap.CommitKind {
	case manifest.CommitCompact:
		op = icetable.OpReplace
	case manifest.CommitOverwrite, manifest.CommitReplace:
		op = icetable.OpOverwrite
	}
	props := iceberg.Properties{
		propSnapshotID:   strconv.FormatInt(c.snap.ID, 10),
		propBranch:       c.branch,
		propManifestList: c.snap.ManifestList,
		propDeleteFiles:  strconv.Itoa(delFiles),
		propSchemaID:     strconv.FormatInt(c.snap.SchemaID, 10),
		propNoFieldIDs:   strconv.Itoa(noIDs),
	}
	if c.born != 0 {
		props[propBranchBorn] = strconv.FormatInt(c.born, 10)
	}
	return &icetable.Snapshot{
		SnapshotID: c.iceID, ParentSnapshotID: parent, SequenceNumber: seq, TimestampMs: ts,
		ManifestList: w.location + w.escape(listRel),
		Summary:      &icetable.Summary{Operation: op, Properties: props},
		SchemaID:     &schemaID,
	}, nil
}

// writeManifest writes one manifest with iceberg-go and stores it.
func (w *snapWriter) writeManifest(ctx context.Context, rel string, content iceberg.ManifestContent, snapID int64, entries []iceberg.ManifestEntry) (iceberg.ManifestFile, error) {
	var buf bytes.Buffer
	mw, err := iceberg.NewManifestWriter(2, &buf, w.spec, w.specSch, snapID, iceberg.WithManifestWriterContent(content))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", rel, err)
	}
	for _, e := range entries {
		if err := mw.Add(e); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", rel, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", rel, err)
	}
	mf, err := mw.ToManifestFile(w.location+w.escape(rel), int64(buf.Len()), iceberg.WithManifestFileContent(content))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", rel, err)
	}
	if _, err := w.store.PutIfAbsent(ctx, w.root+rel, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("write %s: %w", rel, err)
	}
	return mf, nil
}

// sortCandidates orders candidates by commit time, then branch and id, the
// order their sequence numbers are assigned in.
func sortCandidates(cs []candidate) {
	slices.SortStableFunc(cs, func(a, b candidate) int {
		if a.snap.TimeMillis != b.snap.TimeMillis {
			return cmpInt(a.snap.TimeMillis, b.snap.TimeMillis)
		}
		if a.branch != b.branch {
			if a.branch < b.branch {
				return -1
			}
			return 1
		}
		return cmpInt(a.snap.ID, b.snap.ID)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
