// Package table implements silt's primary-key tables on top of manifest
// (snapshots and commits) and lsm (sorted runs and merging): partition and
// bucket routing, merge engines, the writer, scan planning and point
// lookups, changes between snapshots, history (tags, branches, rollback)
// and the table options. The lifecycle policies that delete or move files
// (snapshot and partition expiry, orphan cleanup, tiering, automatic tags)
// live in package lifecycle, which works on a Table through the hooks in
// gc.go; table never imports it.
//
// Files:
//
// The table and its options
//
//	table.go               Env, Table, Open, accessors, data-file opening, Resolve
//	options.go             Options, ParseOptions, OptionDocs: the table options
//	compact_options.go     compaction and record-TTL option keys and parsing
//	history_options.go     changelog producer and automatic tag options
//	lifecycle_options.go   expiry, orphan grace period and tiering options;
//	                       Java-style partition time patterns
//	schemas.go             SchemaLoader; views of the table at other schema versions
//	partition.go           partition paths, bucket routing, data-file paths
//	gc.go                  hooks for package lifecycle: clock, ids, cold store
//
// Merge engines
//
//	mergeengine.go         NewMergeEngine: deduplicate, first-row, partial-update
//	mergeengine_agg.go     the aggregation merge engine and its functions
//	mergeengine_drop.go    which merged records compaction may drop
//
// Writing
//
//	writer.go              Writer: buffering, flushes, Commit, Abort; the
//	                       in-flight rule (manifest.Commit.HeldSince)
//	writer_batch.go        WriteBatch: change batches, column by column
//	writer_batch_check.go  WriteBatch's checks, key encoding and buckets over a batch
//	changelog_writer.go    changelog files at write time (input and lookup producers)
//	compact_writer.go      inline compaction and the write stall of a Writer
//	compact.go             Compact, NewCompactor, bucket statistics
//	rebuild.go             Rebuild: replay one table's history into another
//
// Reading
//
//	scan.go                ScanOptions, NewScan: scan planning and pruning
//	scan_read.go           the row read path: projection, parallel fetches, merging
//	scan_batch.go          Scan.Batches: the columnar read path, buckets in parallel
//	lease.go               leases that pin the snapshot of a scan of an older snapshot
//	ttl.go                 record-level TTL: rows hidden at read time
//	tier_store.go          the cold tier's store and reads that fall back to it
//	metacache.go           MetaCache: decoded immutable metadata shared by a process
//	lookup.go              LookupRecord: point lookups of one key
//	lookup_fresh.go        Get at latest within lookup.max-staleness: the refresher
//	lookup_options.go      the lookup.max-staleness option
//	lookupindex.go         LookupIndexes: the local Pebble lookup index
//	lookupindex_catchup.go moving a lookup index to a later snapshot
//	lookupindex_codec.go   the lookup index's key and value encoding
//
// The Iceberg view's deletes
//
//	hidden.go              HiddenRows: the rows a scan drops, by data-file position
//	hidden_merge.go        HiddenRows' merge of one bucket over the hidden columns
//	hidden_state.go        per-key merged records: buckets extended from new files
//	hidden_cache.go        HiddenRows' bounded per-bucket cache
//	posdelete.go           WritePositionDeletes: Iceberg position delete files
//
// History
//
//	changes.go             Changes: row-level changes between two snapshots
//	history.go             Ref, tags, branches, rollback and fast-forward
package table
