// Package manifest is silt's table metadata: data-file descriptions,
// manifests, manifest lists, snapshots, their versioned and checksummed
// encodings, and the commit protocol that publishes a snapshot with a
// conditional put. It never reads a data file.
//
// Layout under a table root (see docs/design.md):
//
//	schema/schema-<id>            immutable schema versions (written by catalog)
//	snapshot/snapshot-<id>        immutable snapshots, created with put-if-absent
//	snapshot/LATEST               hint only: the highest id seen by a committer
//	manifest/manifest-list-<uuid> ordered list of manifest files
//	manifest/manifest-<uuid>      ADD/DELETE entries of data files
//	data/<partition>/bucket-<n>/  Parquet data files
//
// Every metadata object (and catalog's schema files) is a JSON body in a
// versioned, CRC32C-checksummed envelope (see codec.go); Table reads them
// and Table.Commit publishes a snapshot with put-if-absent on the next id.
package manifest

// FormatVersion is the version written into every metadata object but
// manifests. Readers accept versions <= FormatVersion.
const FormatVersion = 1

// ManifestFormatVersion is the version written into manifest objects.
// Version 2 added DataFile.Checksum; readers accept versions 1 and 2. A
// build that only knows version 1 refuses version 2 manifests, so it can
// never rewrite them (a merged manifest) and drop the checksums.
const ManifestFormatVersion = 2

// EntryKind says whether a manifest entry adds or removes a data file.
type EntryKind int8

const (
	Add    EntryKind = 0
	Delete EntryKind = 1
)

// DataFile describes one immutable Parquet data file (one sorted run piece
// of one bucket).
type DataFile struct {
	// Path is relative to the table root, e.g.
	// "data/dt=2024-01-01/bucket-0/data-<uuid>.parquet".
	Path string `json:"path"`
	// Partition is the canonical partition path ("" when unpartitioned),
	// e.g. "dt=2024-01-01/region=eu" with values path-escaped.
	Partition string `json:"partition,omitempty"`
	Bucket    int    `json:"bucket"`
	Level     int    `json:"level"`
	RowCount  int64  `json:"rowCount"`
	// DeleteCount counts -U/-D rows in the file.
	DeleteCount int64 `json:"deleteCount,omitempty"`
	Size        int64 `json:"size"`
	// MinKey and MaxKey are canonical key encodings (types.EncodeKey of the
	// primary key): readers prune with them without opening the file.
	MinKey []byte `json:"minKey"`
	MaxKey []byte `json:"maxKey"`
	// MinSeq and MaxSeq are absolute sequence numbers (after SeqBase).
	MinSeq int64 `json:"minSeq"`
	MaxSeq int64 `json:"maxSeq"`
	// SeqBase is added by readers to the _seq values stored in the file.
	// A writer stores commit-local sequence numbers and the committer sets
	// SeqBase from the snapshot's NextSequence, so sequence order equals
	// commit order even between writers that raced.
	SeqBase       int64  `json:"seqBase,omitempty"`
	SchemaID      int64  `json:"schemaId"`
	CreatedMillis int64  `json:"createdMillis"`
	Tier          string `json:"tier,omitempty"` // "" = hot store
	// Checksum identifies the file's content: "crc32c:" and 8 lowercase
	// hex digits, the CRC-32C of the file's tail (footer, which holds every
	// row group's CRC-32C, bloom filters and page index) that the file
	// records in its footer (see lsm.Checksum). Readers compare it, with
	// RowCount, MinKey and MaxKey, against every file they open, so a file
	// replaced by another (of the same size) is an error, never wrong rows.
	// "" for files recorded by manifest format version 1: then only the
	// row count and key range are compared.
	Checksum string `json:"checksum,omitempty"`
}

// Upgrade moves one live data file from FromLevel to Level without
// rewriting it: the file's bytes, keys and sequence numbers stay as they
// are (see Commit.Upgrades).
type Upgrade struct {
	Path      string
	FromLevel int
	Level     int
}

// Entry is one line of a manifest file.
type Entry struct {
	Kind EntryKind `json:"kind"`
	File DataFile  `json:"file"`
}

// ManifestMeta is one element of a manifest list.
type ManifestMeta struct {
	Path       string `json:"path"` // relative to the table root
	Size       int64  `json:"size"`
	NumAdded   int64  `json:"numAdded"`
	NumDeleted int64  `json:"numDeleted"`
	SchemaID   int64  `json:"schemaId"`
}

// CommitKind is the kind of change a snapshot made.
type CommitKind string

const (
	CommitAppend    CommitKind = "APPEND"
	CommitCompact   CommitKind = "COMPACT"
	CommitOverwrite CommitKind = "OVERWRITE"
	// CommitReplace publishes the content of another snapshot (rollback,
	// fast-forward of a branch): see Commit.Source.
	CommitReplace CommitKind = "REPLACE"
)

// Retier records that a live data file now lives in another tier (its
// bytes were copied and verified there): a COMPACT commit records it as a
// DELETE of the parent's entry and an ADD of the same file with Tier set,
// like an Upgrade.
type Retier struct {
	Path     string
	FromTier string
	Tier     string
}

// Snapshot is one immutable, published version of a table.
type Snapshot struct {
	Version          int        `json:"version"`
	ID               int64      `json:"id"`
	ParentID         int64      `json:"parentId,omitempty"`
	SchemaID         int64      `json:"schemaId"`
	ManifestList     string     `json:"manifestList"` // relative to the table root
	CommitUser       string     `json:"commitUser"`
	CommitIdentifier string     `json:"commitIdentifier"`
	CommitKind       CommitKind `json:"commitKind"`
	// TimeMillis is the commit time, forced monotonic by id:
	// max(committer clock, parent's TimeMillis).
	TimeMillis       int64 `json:"timeMillis"`
	TotalRecordCount int64 `json:"totalRecordCount"`
	DeltaRecordCount int64 `json:"deltaRecordCount"`
	// NextSequence is the first sequence number not yet used.
	NextSequence int64             `json:"nextSequence"`
	Properties   map[string]string `json:"properties,omitempty"`
	// ChangelogManifestList, when set, lists manifests whose ADD entries are
	// this commit's changelog files (rows with their row kinds, written by a
	// changelog producer). It describes this snapshot only and is not
	// inherited by the next one.
	ChangelogManifestList string `json:"changelogManifestList,omitempty"`
}
