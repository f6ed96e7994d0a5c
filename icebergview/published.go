package icebergview

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// SnapshotInfo describes one Iceberg snapshot of the current metadata.
type SnapshotInfo struct {
	// SnapshotID and Branch name the silt snapshot shown ("" = main).
	SnapshotID int64
	Branch     string
	// IcebergID is the Iceberg snapshot id: SnapshotID on main.
	IcebergID  int64
	Sequence   int64
	TimeMillis int64
	// Refs are the Iceberg refs (branches, tags) naming the snapshot.
	Refs []string
	// ManifestList is the URI of the snapshot's manifest list.
	ManifestList string
	// DeleteFiles are the URIs of its position delete files.
	DeleteFiles []string
	// FilesWithoutFieldIDs counts its data files without a Parquet field
	// id on every column (data-file format version 1), whose first column
	// Java engines read as NULL; -1 when not recorded (published by an
	// older build).
	FilesWithoutFieldIDs int
}

// Published returns the location of the current metadata file and its
// snapshots in sequence order. A table without a view returns an error
// wrapping ErrNotPublished.
func Published(ctx context.Context, store objstore.Store, root string) (string, []SnapshotInfo, error) {
	loc, data, err := Current(ctx, store, root)
	if err != nil {
		return "", nil, err
	}
	md, err := icetable.ParseMetadataBytes(data)
	if err != nil {
		return "", nil, fmt.Errorf("%w: table %q: iceberg metadata %s: %v", types.ErrCorruption, root, loc, err)
	}
	refs := map[int64][]string{}
	for name, r := range md.Refs() {
		refs[r.SnapshotID] = append(refs[r.SnapshotID], name)
	}
	var out []SnapshotInfo
	for _, s := range md.Snapshots() {
		d, ok := describe(s)
		if !ok {
			continue
		}
		info := SnapshotInfo{SnapshotID: d.siltID, Branch: d.branch, IcebergID: s.SnapshotID, Sequence: s.SequenceNumber,
			TimeMillis: s.TimestampMs, ManifestList: s.ManifestList}
		info.FilesWithoutFieldIDs = -1
		if v, err := strconv.Atoi(s.Summary.Properties[propNoFieldIDs]); err == nil {
			info.FilesWithoutFieldIDs = v
		}
		info.Refs = refs[s.SnapshotID]
		sort.Strings(info.Refs)
		n, _ := strconv.Atoi(s.Summary.Properties[propDeleteFiles])
		folder := strings.TrimSuffix(s.ManifestList, "list.avro")
		for i := 0; i < n; i++ {
			info.DeleteFiles = append(info.DeleteFiles, folder+"del-"+strconv.Itoa(i)+".parquet")
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sequence < out[j].Sequence })
	return loc, out, nil
}
