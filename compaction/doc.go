// Package compaction keeps a bucket's merge tree small: it merges sorted
// runs so that reads touch few runs and overwritten or deleted rows stop
// taking space. It imports only internal packages, manifest and lsm (never
// table or catalog), so it can run inside a writer or as its own process.
//
// Vocabulary (in the order things happen):
//
//	Bucket    the live files of one (partition, bucket) in a snapshot
//	Run       one sorted run: a level-0 file, or all files of a level >= 1
//	Picker    a pure policy: Bucket -> Plan (Universal, the default; Full)
//	Plan      the runs to merge, the output level, whether deletes may drop
//	Executor  Plan -> Result: merges with the table's lsm.Merger, writes
//	          Parquet files at the target size, upgrades files that need
//	          no merging and copies row groups that need no merging page
//	          by page (copy.go); nothing is committed yet
//	Compactor plans every bucket of the latest snapshot, executes the plans
//	          and commits the Results as one COMPACT snapshot through
//	          manifest.Table.Commit
//
// # Levels
//
// As in Paimon, level 0 holds the files writers flush, each its own sorted
// run; each level >= 1 holds one sorted run (files with disjoint key
// ranges). Newer data is always at a lower level: every level-0 file is
// newer than every leveled run, and level i is newer than level i+1. A plan
// always merges the newest runs (a prefix of the bucket's runs in age
// order) into a level no higher than that of the next older run, so the
// records of every key it merges are contiguous in sequence order, which
// lsm.Merger requires.
//
// # Conflicts
//
// A compaction commits its inputs as Deleted (or as Upgrades) of a COMPACT
// commit; the committer requires each to be live at the level the plan saw.
// Two compactions of the same bucket computed from snapshots that do not
// include each other always share an input, so the later commit fails with
// types.ErrConflict and its outputs, which no snapshot references, are
// deleted. Appends add level-0 files with sequence numbers above any
// compaction input, so they never conflict.
package compaction
